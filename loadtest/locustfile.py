"""The on-sale of one performance, as buyers live it.

Prepared by `npm run loadtest` (scripts/loadtest.mjs), which writes a fixture file and passes
its path in LOADTEST_FIXTURE: the event and performance ids and one access token per buyer
(tokens are made before the run, so password hashing is not what gets measured).

Each simulated buyer:
  browse (weight 3)   the event, the performance with its counts, and a seat page
  grab (weight 6)     picks 1-4 seats among those shown AVAILABLE and holds them; on 409 it
                      looks again and retries other seats (up to 3 tries). With a hold it buys
                      (80 %), releases it (10 %) or walks away and lets it expire (10 %).
  cancel (weight 1)   cancels one of its own purchases now and then (5 % of the time it runs)

Every 201 purchase and every cancel is appended to LOADTEST_OUTCOME_DIR/<pid>.jsonl so the
harness can check afterwards that each one reached PostgreSQL exactly once.

Queue first (`npm run loadtest -- --queue`, the user class QueueBuyer): the fixture carries the
performance's waiting room. Each buyer joins it, polls its ticket every pollAfterSeconds (as the
server asks) until admitted, then behaves as above with the Admission-Token header on its holds
and purchases; after its purchase it only browses. The moment of each buyer's
first hold is recorded ("first-hold") so the harness can check the hold route never saw more new
buyers than the room admits.
"""

import json
import os
import random
import time
import uuid

import gevent
from locust import FastHttpUser, between, events, task

with open(os.environ["LOADTEST_FIXTURE"], encoding="utf-8") as fixture_file:
    FIXTURE = json.load(fixture_file)

OUTCOME_PATH = os.path.join(os.environ["LOADTEST_OUTCOME_DIR"], f"{os.getpid()}.jsonl")
PERFORMANCE_ID = FIXTURE["performanceId"]
EVENT_ID = FIXTURE["eventId"]
TOKENS = FIXTURE["tokens"]
SEAT_PAGES = max(1, FIXTURE["seats"] // 100)
_next_token = iter(range(10**9))
# Purchases answered 201 in this run.
_purchases_answered = 0


@events.test_start.add_listener
def stop_once_sold(environment, **_kwargs):
    """With LOADTEST_MIN_SECONDS and LOADTEST_MIN_PURCHASES (set by `--max-duration`), stops the run
    once both are reached: at least that many seconds, and at least that many purchases answered
    201. Locust's --run-time still ends it at the most."""
    if "LOADTEST_MIN_SECONDS" not in os.environ:
        return
    min_seconds = float(os.environ["LOADTEST_MIN_SECONDS"])
    min_purchases = int(os.environ.get("LOADTEST_MIN_PURCHASES", "1"))
    started = time.monotonic()

    def watch():
        while time.monotonic() - started < min_seconds or _purchases_answered < min_purchases:
            gevent.sleep(0.2)
        environment.runner.quit()

    gevent.spawn(watch)


def record(kind, **fields):
    with open(OUTCOME_PATH, "a", encoding="utf-8") as outcome:
        outcome.write(json.dumps({"kind": kind, **fields}) + "\n")


class Buyer(FastHttpUser):
    wait_time = between(0.2, 1.5)

    def on_start(self):
        token = TOKENS[next(_next_token) % len(TOKENS)]
        self.auth = {"Authorization": f"Bearer {token}"}
        self.purchases = []

    def available_seats(self):
        # Sales start from a random page, as real buyers spread over the seat map.
        cursor = ""
        page_url = f"/api/v1/performances/{PERFORMANCE_ID}/seats?status=AVAILABLE&limit=100"
        with self.client.get(page_url, name="/performances/:id/seats?status=AVAILABLE", catch_response=True) as res:
            if res.status_code != 200:
                res.failure(f"seat page answered {res.status_code}")
                return []
            body = res.json()
            cursor = body.get("nextCursor") or ""
            seats = [seat["id"] for seat in body["items"]]
        for _ in range(random.randint(0, min(3, SEAT_PAGES))):
            if not cursor:
                break
            res = self.client.get(f"{page_url}&cursor={cursor}", name="/performances/:id/seats?status=AVAILABLE")
            if res.status_code != 200:
                break
            body = res.json()
            cursor = body.get("nextCursor") or ""
            seats = [seat["id"] for seat in body["items"]] or seats
        return seats

    @task(3)
    def browse(self):
        self.client.get(f"/api/v1/events/{EVENT_ID}", name="/events/:id")
        self.client.get(f"/api/v1/performances/{PERFORMANCE_ID}", name="/performances/:id")
        self.client.get(f"/api/v1/performances/{PERFORMANCE_ID}/seats?limit=100", name="/performances/:id/seats")

    @task(6)
    def grab(self):
        if not self.may_hold():
            return
        for _ in range(3):
            seats = self.available_seats()
            if not seats:
                return
            wanted = random.sample(seats, min(len(seats), random.randint(1, 4)))
            self.before_hold()
            with self.client.post(
                "/api/v1/reservations",
                json={"performanceId": PERFORMANCE_ID, "seatIds": wanted},
                headers=self.auth,
                name="/reservations",
                catch_response=True,
            ) as res:
                if res.status_code == 201:
                    hold = res.json()
                    break
                if res.status_code == 409:
                    # Someone was faster, or this buyer holds its limit: both are normal.
                    res.success()
                    if "at most" in res.text:
                        return
                    continue
                res.failure(f"hold answered {res.status_code}")
                return
        else:
            return

        choice = random.random()
        if choice < 0.8:
            self.buy(hold)
        elif choice < 0.9:
            self.client.delete(f"/api/v1/reservations/{hold['id']}", headers=self.auth, name="/reservations/:id")

    def may_hold(self):
        """Whether grab may ask for holds; a queued buyer may only while its session lasts."""
        return True

    def before_hold(self):
        """Called before each hold request; a queued buyer records its first."""

    def buy(self, hold):
        key = str(uuid.uuid4())
        # Recorded before sending: a purchase still in flight when the run stops may have happened.
        record("purchase-sent", reservationId=hold["id"])
        with self.client.post(
            "/api/v1/purchases",
            json={"reservationId": hold["id"]},
            headers={**self.auth, "Idempotency-Key": key},
            name="/purchases",
            catch_response=True,
        ) as res:
            if res.status_code == 201:
                global _purchases_answered
                _purchases_answered += 1
                purchase = res.json()
                self.purchases.append(purchase["id"])
                record("purchase", id=purchase["id"], seatIds=purchase["seatIds"], reservationId=hold["id"])
            elif res.status_code == 409:
                res.success()
            else:
                res.failure(f"purchase answered {res.status_code}")

    @task(1)
    def cancel(self):
        if not self.purchases or random.random() > 0.05:
            return
        purchase_id = self.purchases.pop(random.randrange(len(self.purchases)))
        # Recorded before sending: a cancel still in flight when the run stops may have happened.
        record("cancel-sent", id=purchase_id)
        with self.client.post(
            f"/api/v1/purchases/{purchase_id}/cancel", headers=self.auth, name="/purchases/:id/cancel", catch_response=True
        ) as res:
            if res.status_code == 200:
                record("cancel", id=purchase_id)
            else:
                res.failure(f"cancel answered {res.status_code}")


class QueueBuyer(Buyer):
    """A buyer who waits in the performance's waiting room before any hold (see the module docstring).

    Each buyer identity queues once: a second simulated user with the same account would share its
    ticket and lose its session to the other's purchase. A buyer who bought, whose ticket ended, or
    who finds every account taken only browses from then on.
    """

    def on_start(self):
        index = next(_next_token)
        self.purchases = []
        self.first_hold_at = None
        self.done = index >= len(TOKENS)
        if self.done:
            return
        self.auth = {"Authorization": f"Bearer {TOKENS[index]}"}
        with self.client.post(
            f"/api/v1/performances/{PERFORMANCE_ID}/queue",
            headers=self.auth,
            name="/performances/:id/queue",
            catch_response=True,
        ) as res:
            if res.status_code not in (200, 201):
                res.failure(f"join answered {res.status_code}")
                self.done = True
                return
            ticket = res.json()
        while ticket["status"] == "WAITING" or (ticket["status"] == "ADMITTED" and not ticket.get("admissionToken")):
            time.sleep(ticket["pollAfterSeconds"])
            with self.client.get(
                f"/api/v1/queue/{ticket['ticketId']}", headers=self.auth, name="/queue/:ticketId", catch_response=True
            ) as res:
                if res.status_code != 200:
                    res.failure(f"poll answered {res.status_code}")
                    self.done = True
                    return
                ticket = res.json()
        if ticket["status"] != "ADMITTED":
            self.done = True
            return
        self.ticket_id = ticket["ticketId"]
        self.auth = {**self.auth, "Admission-Token": ticket["admissionToken"]}

    def may_hold(self):
        return not self.done

    def before_hold(self):
        if self.first_hold_at is None:
            self.first_hold_at = time.time() * 1000
            record("first-hold", at=self.first_hold_at, ticketId=self.ticket_id)

    def buy(self, hold):
        super().buy(hold)
        # A purchase ends the session (the token no longer opens holds): one purchase per queued buyer.
        self.done = True
