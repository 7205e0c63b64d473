from pitboss.console.login_throttle import LoginThrottle


def test_a_name_is_blocked_after_its_failures_and_freed_when_they_age_out() -> None:
    now = [0.0]
    throttle = LoginThrottle(max_failures=3, max_client_failures=100, window_s=60,
                             clock=lambda: now[0])
    for second in range(3):
        now[0] = float(second)
        assert not throttle.blocked("rita", f"10.0.0.{second}")
        throttle.failed("rita", f"10.0.0.{second}")
    assert throttle.blocked("rita", "10.9.9.9")
    assert not throttle.blocked("ana", "10.9.9.9")
    now[0] = 60.5  # the first failure left the window
    assert not throttle.blocked("rita", "10.9.9.9")


def test_a_client_trying_many_names_is_blocked() -> None:
    throttle = LoginThrottle(max_failures=100, max_client_failures=4, clock=lambda: 0.0)
    for name in ("a", "b", "c", "d"):
        throttle.failed(name, "10.0.0.1")
    assert throttle.blocked("e", "10.0.0.1")
    assert not throttle.blocked("e", "10.0.0.2")


def test_success_forgets_the_names_failures() -> None:
    throttle = LoginThrottle(max_failures=2, clock=lambda: 0.0)
    throttle.failed("rita", "10.0.0.1")
    throttle.succeeded("rita")
    throttle.failed("rita", "10.0.0.1")
    assert not throttle.blocked("rita", "10.0.0.1")
