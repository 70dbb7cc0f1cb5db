"""GSM8K answer extraction, code programs, and the sandbox: no network, killed at the timeout."""

from __future__ import annotations

import socket
import threading
import time

from t2l_edge.data.schema import Example
from t2l_edge.evaluation.generative import extract_code, final_number, humaneval_program, mbpp_program, score_gsm8k
from t2l_edge.evaluation.sandbox import run_python


def test_final_number():
    assert final_number("so 3 + 4 = 7 apples\n#### 1,000.0") == "1000"
    assert final_number("The answer is 42.") == "42"
    assert final_number("costs -3.50 dollars") == "-3.5"
    assert final_number("no digits here") is None


def test_gsm8k_scoring_with_a_fake_engine():
    class Fake:
        def generate(self, prompt, max_tokens=0):
            return type("R", (), {"text": "Half of 10 is 5. #### 5"})()

    assert score_gsm8k(Fake(), Example("q", "5")).correct
    assert not score_gsm8k(Fake(), Example("q", "6")).correct


def test_code_programs_pass_and_fail_in_the_sandbox():
    he = Example("def add(a, b):\n", "", id="HE/0", extra={"entry_point": "add", "test": "def check(f):\n    assert f(2, 3) == 5\n"})
    assert run_python(humaneval_program(he, "    return a + b\n")).passed
    assert not run_python(humaneval_program(he, "```python\ndef add(a, b):\n    return a - b\n```")).passed
    mb = Example("Write sq.", "", id="m1", extra={"tests": ["assert sq(3) == 9"], "setup": ""})
    assert run_python(mbpp_program(mb, "def sq(x):\n    return x * x")).passed
    assert extract_code("text\n```python\nx = 1\n```\nmore") == "x = 1\n"


def test_sandbox_has_no_network():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    accepted = []
    threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True).start()
    res = run_python(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=3)\nprint('connected')")
    assert not res.passed and ("Errno" in res.stderr or "disabled" in res.stderr), res
    time.sleep(0.2)
    assert not accepted  # nothing reached the host's loopback
    server.close()


def test_sandbox_kills_runaway_code_at_the_timeout():
    res = run_python("while True:\n    pass\n", timeout=1.5)
    assert res.status == "timeout" and not res.passed
