"""The default process group of this process (one per process, as torch's WORLD)."""
backend = None
prev_hook = None


def get():
    if backend is None:
        raise ValueError("Default process group has not been initialized, please make sure to call "
                         "init_process_group.")
    return backend
