"""The default run's work written plainly in one script: the yardstick for ``mlp-compare run``'s wall time.

Imports both libraries, reads the data, trains the NumPy MLP and its ``nn.Sequential`` twin for 50
epochs each (one after the other, nothing compared in between) with the training and validation
accuracy after every epoch, then predicts the test set. No gradient check, no lockstep, no files.

    time python -m compare.bench.plain_run [--epochs 50] [--dataset fashion-mnist --data-dir DIR]

It does not go through the command line, so it does not shorten the libraries' idle-thread spins
itself: started by hand it runs with their defaults, started by ``mlp-compare bench`` it inherits the
bench's. Either way the twins run one after the other here, where the spins cost little.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

import scratch
import torch_impl

from ..config import RunConfig, resolve_threads
from ..data.load import load_dataset
from ..data.schedule import BatchSchedule
from ..twins.threads import same_threads


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m compare.bench.plain_run", description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--threads", type=int, default=0, help="threads for NumPy's BLAS and torch (0: all cores)")
    p.add_argument("--dataset", default="mnist-5k")
    p.add_argument("--data-dir")
    args = p.parse_args(argv)
    c = RunConfig()  # the run's defaults: batch 100, learning rate 0.1, seed 123, 50 hidden sigmoid units
    batch, lr, seed = c.batch_size, c.lr, c.seed
    with same_threads(resolve_threads(args.threads)):
        torch.manual_seed(seed)  # the twin's own initial weights, the same on every run
        data = load_dataset(args.dataset, args.data_dir, None, seed)
        sizes = c.sizes(data.n_features, data.num_classes)
        model = scratch.MLP(sizes, seed=seed)
        net = torch_impl.build_model(sizes).double()
        loss_fn, optimizer = torch_impl.loss_function("mse"), torch_impl.make_optimizer(net, lr)
        schedule = BatchSchedule(len(data.y_train), batch, seed)
        epochs = [schedule.epoch() for _ in range(args.epochs)]

        for batches in epochs:
            scratch.train_epoch(model, ((data.X_train[i], data.y_train[i]) for i in batches), lr)
            scratch.evaluate(model, data.X_train, data.y_train)
            scratch.evaluate(model, data.X_valid, data.y_valid)
        numpy_test_acc = np.mean(model.predict(data.X_test) == data.y_test)

        X, y = torch.from_numpy(data.X_train), torch.from_numpy(data.y_train)
        X_valid, y_valid = torch.from_numpy(data.X_valid), torch.from_numpy(data.y_valid)
        for batches in epochs:
            torch_impl.train_epoch(net, loss_fn, optimizer, ((X[i], y[i]) for i in map(torch.from_numpy, batches)))
            torch_impl.evaluate(net, X, y, "mse")
            torch_impl.evaluate(net, X_valid, y_valid, "mse")
        with torch.inference_mode():
            torch_test_acc = (net.eval()(torch.from_numpy(data.X_test)).argmax(1).numpy() == data.y_test).mean()
    print(f"test accuracy: NumPy {numpy_test_acc:.4f}, torch {torch_test_acc:.4f}")


if __name__ == "__main__":
    main()
