"""The demo application around the library: the ``train`` command line, the benchmark, the bundled
datasets and training checkpoints. Not library API: import ``minitorch_optim`` / ``autograd`` for that."""
