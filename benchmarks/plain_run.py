"""The default run's work written plainly in one script: the yardstick for ``mlp-compare run``'s wall time.

Imports both libraries, reads mnist-5k, trains the NumPy MLP and its ``nn.Sequential`` twin for 50
epochs each (one after the other, no comparison in between) with the training and validation accuracy
after every epoch, then predicts the test set. No gradient check, no lockstep, no files written.

    time python benchmarks/plain_run.py
"""

import numpy as np
import torch

import scratch
import torch_impl
from compare.data.load import load_dataset
from compare.data.schedule import BatchSchedule

EPOCHS, BATCH, LR, SEED = 50, 100, 0.1, 123

torch.manual_seed(SEED)  # the twin's own initial weights, the same on every run
data = load_dataset("mnist-5k", seed=SEED)
model = scratch.MLP([784, 50, 10], seed=SEED)
net = torch_impl.build_model([784, 50, 10]).double()
loss_fn, optimizer = torch_impl.loss_function("mse"), torch_impl.make_optimizer(net, LR)
schedule = BatchSchedule(len(data.y_train), BATCH, SEED)
epochs = [schedule.epoch() for _ in range(EPOCHS)]

for batches in epochs:
    scratch.train_epoch(model, ((data.X_train[i], data.y_train[i]) for i in batches), LR)
    train_acc = scratch.evaluate(model, data.X_train, data.y_train)["acc"]
    valid_acc = scratch.evaluate(model, data.X_valid, data.y_valid)["acc"]
numpy_test_acc = np.mean(model.predict(data.X_test) == data.y_test)

X_train, y_train = torch.from_numpy(data.X_train), torch.from_numpy(data.y_train)
X_valid, y_valid = torch.from_numpy(data.X_valid), torch.from_numpy(data.y_valid)
for batches in epochs:
    torch_impl.train_epoch(net, loss_fn, optimizer, ((X_train[i], y_train[i]) for i in map(torch.from_numpy, batches)))
    train_acc = torch_impl.evaluate(net, X_train, y_train, "mse")["acc"]
    valid_acc = torch_impl.evaluate(net, X_valid, y_valid, "mse")["acc"]
with torch.inference_mode():
    torch_test_acc = (net.eval()(torch.from_numpy(data.X_test)).argmax(1).numpy() == data.y_test).mean()
print(f"test accuracy: NumPy {numpy_test_acc:.4f}, torch {torch_test_acc:.4f}")
