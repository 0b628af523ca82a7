"""The accept board: one (pid, open connections) slot per worker, shared through a file."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mercato.http import serving


@pytest.fixture
def board_path(tmp_path) -> str:
    path = str(tmp_path / "board")
    serving.create_board(path)
    return path


def _write_slot(path: str, slot: int, pid: int, connections: int) -> None:
    with open(path, "r+b") as board:
        board.seek(slot * 16)
        board.write(pid.to_bytes(8, sys.byteorder, signed=True))
        board.write(connections.to_bytes(8, sys.byteorder, signed=True))


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_worker_claims_a_free_slot_and_publishes_its_count(board_path):
    board = serving.AcceptBoard(board_path)
    assert board.slot == 0
    board.publish(3)
    assert serving.AcceptBoard(board_path).counts() == {os.getpid(): 0}  # same pid: same slot
    board.publish(3)
    assert board.counts() == {os.getpid(): 3}
    board.release()
    assert board.counts() == {}


def test_a_slot_of_a_gone_worker_is_reused(board_path):
    _write_slot(board_path, 0, _dead_pid(), 7)
    _write_slot(board_path, 1, os.getppid(), 2)  # a live process
    board = serving.AcceptBoard(board_path)
    assert board.slot == 0
    assert board.counts() == {os.getpid(): 0, os.getppid(): 2}


def test_a_worker_defers_only_to_a_live_worker_holding_fewer(board_path):
    board = serving.AcceptBoard(board_path)
    _write_slot(board_path, 1, os.getppid(), 2)
    _write_slot(board_path, 2, _dead_pid(), 0)  # gone: never deferred to
    assert board.others_hold_fewer(3)
    assert not board.others_hold_fewer(2)  # equal: no one defers, whoever is first accepts
    assert not board.others_hold_fewer(0)


def test_a_full_board_is_an_error(board_path):
    for slot in range(serving.SLOTS):
        _write_slot(board_path, slot, os.getppid(), 1)
    with pytest.raises(RuntimeError, match="workers share one accept board"):
        serving.AcceptBoard(board_path)
