"""io.signals: a stop during a deferred block is delivered, as itself, when the block ends."""

import os
import signal

import pytest

from nstyle.io.signals import stops_deferred


class Stopped(Exception):
    pass


def test_ctrl_c_in_the_block_lets_it_finish_then_raises_keyboard_interrupt():
    finished = False
    with pytest.raises(KeyboardInterrupt):
        with stops_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1000):  # time for Python to run the (holding) handler inside the block
                pass
            finished = True
    assert finished
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_sigterm_goes_to_the_handler_that_was_in_place_and_nothing_held_means_nothing_raised():
    def stop(_signum, _frame):
        raise Stopped

    before = signal.signal(signal.SIGTERM, stop)
    try:
        with stops_deferred():
            pass
        with pytest.raises(Stopped), stops_deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            assert signal.getsignal(signal.SIGTERM) is not stop  # held, not handled, while the block runs
        assert signal.getsignal(signal.SIGTERM) is stop
    finally:
        signal.signal(signal.SIGTERM, before)


def test_a_stop_during_a_real_safetensors_read_comes_out_as_the_stop(tmp_path):
    """The case it exists for: Ctrl-C while safetensors builds its tensors through Python callbacks. Unheld, about
    one stop in five came out as safetensors' "ValueError: could not determine the shape of object type
    'torch.storage.UntypedStorage'"; held, every one is a KeyboardInterrupt, after the file is read."""
    import threading
    import time

    import torch
    from safetensors.torch import save_file

    from nstyle.models.weights import read_safetensors

    path = tmp_path / "many.safetensors"
    save_file({f"t{k}": torch.zeros(2) for k in range(20000)}, str(path))
    started = time.perf_counter()
    assert len(read_safetensors(path)) == 20000
    reading = time.perf_counter() - started
    for k in range(15):  # stops at 15 moments spread over the read
        sender = threading.Thread(target=lambda k=k: (time.sleep(reading * (0.1 + 0.05 * k)),
                                                      os.kill(os.getpid(), signal.SIGINT)))
        sender.start()
        with pytest.raises(KeyboardInterrupt):
            read_safetensors(path)
            time.sleep(2 * reading)  # the read ended before the stop came: it still must come here
        sender.join()
