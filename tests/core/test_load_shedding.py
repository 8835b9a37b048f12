"""Load shedding (vaxbook.core.overload): beyond the requests a worker runs and lets wait,
the next one is answered at once with 503 and Retry-After, a page or the API problem
`overloaded`; the staff side, static files and /healthz are served from their own budget or
never counted. Real threads race through the middleware; the views hold their turn until
the test lets them go, so every outcome is decided by the rule, not by timing."""

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory, override_settings

from config import env
from vaxbook.core.overload import LoadSheddingMiddleware

SYNC_TIMEOUT_S = 30  # how long a test waits for threads to reach a state, never a measure


def shedding(**budget: float) -> dict[str, float]:
    return {
        "running": 1,
        "waiting": 1,
        "wait_seconds": 60,
        "staff_running": 1,
        "line_running": 1,
        "retry_after": 7,
        **budget,
    }


class HeldView:
    """A view that keeps its turn until `release` is set, counting who ran at once."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.running = 0
        self.most_at_once = 0
        self.served: list[str] = []

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with self.lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        self.release.wait(SYNC_TIMEOUT_S)
        with self.lock:
            self.running -= 1
            self.served.append(request.path)
        return HttpResponse("served")


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + SYNC_TIMEOUT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the threads never reached the expected state")
        time.sleep(0.001)


@contextmanager
def busy_worker(
    view: HeldView, **budget: float
) -> Iterator[tuple[LoadSheddingMiddleware, Callable[[str], Future[HttpResponse]]]]:
    """The middleware over `view`, and a way to send requests from threads of their own."""
    with override_settings(LOAD_SHEDDING=shedding(**budget)):
        middleware = LoadSheddingMiddleware(view)
    factory = RequestFactory()
    with ThreadPoolExecutor(max_workers=32) as pool:

        def send(path: str) -> Future[HttpResponse]:
            return pool.submit(middleware, factory.get(path))

        try:
            yield middleware, send
        finally:
            view.release.set()


def test_a_page_beyond_the_requests_running_and_waiting_gets_a_503_page_at_once() -> None:
    view = HeldView()
    with busy_worker(view) as (middleware, send):
        running = send("/centres/")
        waiting = send("/centres/")
        wait_until(lambda: middleware.budgets["public"].in_flight == 2)

        refused = middleware(RequestFactory().get("/centres/"))

        assert refused.status_code == 503
        assert refused["Retry-After"] == "7"
        page = refused.content.decode()
        assert "Too many people are using the service right now" in page
        assert "try again in 7 seconds" in page
        assert view.served == []
        view.release.set()
        assert running.result(SYNC_TIMEOUT_S).status_code == 200
        assert waiting.result(SYNC_TIMEOUT_S).status_code == 200
    assert view.most_at_once == 1


def test_the_api_answers_the_problem_overloaded_in_the_clients_language() -> None:
    view = HeldView()
    with busy_worker(view, waiting=0) as (middleware, send):
        send("/api/v1/appointments")
        wait_until(lambda: view.running == 1)

        refused = middleware(
            RequestFactory().post("/api/v1/appointments", HTTP_ACCEPT_LANGUAGE="es")
        )

    assert refused.status_code == 503
    assert refused["Content-Type"] == "application/problem+json"
    assert refused["Retry-After"] == "7"
    problem = json.loads(refused.content)
    assert problem["code"] == "overloaded"
    assert problem["status"] == 503
    assert "Vuelva a intentarlo dentro de 7 segundos" in problem["detail"]


def test_the_spanish_page_says_to_come_back() -> None:
    view = HeldView()
    with busy_worker(view, waiting=0) as (middleware, send):
        send("/centres/")
        wait_until(lambda: view.running == 1)

        refused = middleware(RequestFactory().get("/centres/", HTTP_ACCEPT_LANGUAGE="es"))

    assert refused.status_code == 503
    assert "Demasiadas personas están usando el servicio ahora mismo" in refused.content.decode()


def test_a_request_whose_wait_for_a_turn_runs_out_is_refused_and_never_runs() -> None:
    view = HeldView()
    with busy_worker(view, waiting=5, wait_seconds=0.01) as (middleware, send):
        running = send("/centres/")
        wait_until(lambda: view.running == 1)

        refused = middleware(RequestFactory().get("/centres/"))

        assert refused.status_code == 503
        assert middleware.budgets["public"].in_flight == 1
        view.release.set()
        assert running.result(SYNC_TIMEOUT_S).status_code == 200
    assert view.served == ["/centres/"]


def test_centres_static_files_and_health_are_served_while_citizens_are_refused() -> None:
    view = HeldView()
    with busy_worker(view, waiting=0, staff_running=2) as (middleware, send):
        send("/centres/")
        wait_until(lambda: view.running == 1)
        assert middleware(RequestFactory().get("/api/v1/appointments")).status_code == 503

        staff_paths = [
            "/staff/centres/1/check-in/",
            "/api/v1/validations",
            "/static/core/site.css",
            "/healthz",
        ]
        answers = [send(path) for path in staff_paths]
        wait_until(lambda: view.running == 1 + len(staff_paths))
        view.release.set()

        assert [answer.result(SYNC_TIMEOUT_S).status_code for answer in answers] == [200] * 4
    assert sorted(view.served) == sorted(["/centres/", *staff_paths])


def test_the_staff_side_has_a_budget_of_its_own_and_is_refused_beyond_it() -> None:
    view = HeldView()
    with busy_worker(view, staff_running=1) as (middleware, send):
        send("/api/v1/checkins")  # runs
        send("/api/v1/appointments/7b8f/vaccination")  # waits for the staff turn
        wait_until(lambda: middleware.budgets["staff"].in_flight == 2)

        refused = middleware(RequestFactory().get("/staff/"))
        citizen = send("/centres/")
        wait_until(lambda: view.running == 2)

        assert refused.status_code == 503
        assert middleware.budgets["public"].in_flight == 1
        view.release.set()
        assert citizen.result(SYNC_TIMEOUT_S).status_code == 200


def test_the_waiting_rooms_polls_never_take_the_turns_of_people_booking() -> None:
    view = HeldView()
    with busy_worker(view, waiting=0) as (middleware, send):
        poll = send("/api/v1/waiting-room/tickets/current")
        wait_until(lambda: view.running == 1)
        refused_poll = middleware(RequestFactory().get("/api/v1/waiting-room/tickets/current"))
        booking = send("/api/v1/appointments")
        wait_until(lambda: view.running == 2)
        refused_booking = middleware(RequestFactory().post("/api/v1/appointments"))
        view.release.set()

        assert refused_poll.status_code == 503
        assert json.loads(refused_poll.content)["code"] == "overloaded"
        assert refused_booking.status_code == 503
        assert poll.result(SYNC_TIMEOUT_S).status_code == 200
        assert booking.result(SYNC_TIMEOUT_S).status_code == 200
    assert sorted(view.served) == ["/api/v1/appointments", "/api/v1/waiting-room/tickets/current"]


def test_a_burst_of_threads_runs_at_most_the_budget_and_the_rest_is_refused() -> None:
    view = HeldView()
    burst = 20
    with busy_worker(view, running=2, waiting=3) as (middleware, _send):
        start = threading.Barrier(burst)
        factory = RequestFactory()

        def arrive() -> HttpResponse:
            start.wait(SYNC_TIMEOUT_S)
            return middleware(factory.get("/api/v1/appointments"))

        with ThreadPoolExecutor(max_workers=burst) as crowd:
            answers = [crowd.submit(arrive) for _ in range(burst)]
            wait_until(lambda: sum(answer.done() for answer in answers) == burst - 5)
            refused = [answer.result() for answer in answers if answer.done()]
            assert {answer.status_code for answer in refused} == {503}
            wait_until(lambda: view.running == 2)  # the three others wait for a turn
            view.release.set()
            statuses = sorted(answer.result(SYNC_TIMEOUT_S).status_code for answer in answers)

    assert statuses == [200] * 5 + [503] * 15
    assert view.most_at_once == 2
    assert middleware.budgets["public"].in_flight == 0


def test_the_budgets_come_from_the_environment_and_bad_values_stop_the_start() -> None:
    defaults = env.load_shedding({})
    assert defaults == {
        "running": 4,
        "waiting": 16,
        "wait_seconds": 5.0,
        "staff_running": 2,
        "line_running": 2,
        "retry_after": 5,
    }
    configured = env.load_shedding({"WEB_THREADS": "8", "WEB_QUEUE": "0"})
    assert (configured["running"], configured["waiting"]) == (8, 0)
    with pytest.raises(ImproperlyConfigured, match="WEB_THREADS"):
        env.load_shedding({"WEB_THREADS": "0"})
    with pytest.raises(ImproperlyConfigured, match="WEB_QUEUE"):
        env.load_shedding({"WEB_QUEUE": "many"})
