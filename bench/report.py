"""Prints `python -m bench` results as a table, each figure beside issue 7's target."""

from __future__ import annotations

from typing import Any

FANOUT_P99_TARGET_MS = {5000: 60, 10000: 150}
OPEN_LOOP_P99_TARGET_MS = 20


def _mark(ok: bool | None) -> str:
    return "" if ok is None else ("ok" if ok else "MISSED")


def _row(what: str, value: str, target: str = "", ok: bool | None = None) -> str:
    return f"  {what:<44} {value:>22}  {target:<18} {_mark(ok)}"


def _fanout_target(viewers: int) -> float | None:
    fitting = [v for v in FANOUT_P99_TARGET_MS if viewers <= v]
    return FANOUT_P99_TARGET_MS[min(fitting)] if fitting else None


def _print_sweep(open_loops: list[dict[str, Any]]) -> None:
    """Each sweep step's ack times, then the highest rate offered (the main open loop's
    included) at which every submission was accepted within the p99 target."""
    if len(open_loops) < 2:
        return
    for paced in open_loops[1:]:
        p99 = paced["ack_ms"].get("p99", float("nan"))
        print(
            _row(
                f"  sweep: {paced['offered_per_second']:,.0f}/s, ack p50/p99 ms",
                f"{paced['ack_ms'].get('p50', 0):.1f} / {p99:.1f}",
                f"p99 <= {OPEN_LOOP_P99_TARGET_MS}",
                p99 <= OPEN_LOOP_P99_TARGET_MS,
            )
        )
    within = [
        paced["offered_per_second"]
        for paced in open_loops
        if paced["refused"] == 0 and paced["ack_ms"].get("p99", 1e9) <= OPEN_LOOP_P99_TARGET_MS
    ]
    print(
        _row(
            f"highest rate offered with ack p99 <= {OPEN_LOOP_P99_TARGET_MS} ms",
            f"{max(within):,.0f}/s" if within else "none",
            ">= 5,000/s",
            bool(within) and max(within) >= 0.99 * 5000,
        )
    )


def _print_moderator_behind(paced: dict[str, Any]) -> None:
    """When the moderator had the open loop's last question, after its last ack."""
    if "moderator_behind_ms" not in paced:
        return
    behind = paced["moderator_behind_ms"]
    print(
        _row(
            "moderator had every new question, ms after",
            "not within 30 s" if behind is None else f"{behind:.1f}",
            "the last ack",
        )
    )


def _print_left_running(label: str, figures: dict[str, Any], suffix: str = "") -> None:
    """Workers still running once their supervisor had stopped (then killed by the bench):
    a shutdown that hangs."""
    left = figures.get(f"processes_left_running{suffix}")
    if left is not None:
        print(_row(label, f"{left}", "0", left == 0))


def _print_disk(flushes: dict[str, Any] | None) -> None:
    """The disk's flush tail: every durable acknowledgement waits for one flush."""
    if not flushes:
        return
    print(
        f"\n the disk alone: {flushes['flushes']:,} flushes of {flushes['block_bytes']:,} "
        f"bytes appended (fdatasync) in {flushes['seconds']:g} s, nothing else running"
    )
    print(
        _row(
            "flush p50 / p99 / p99.9 / max ms",
            f"{flushes['p50_ms']:.1f} / {flushes['p99_ms']:.1f} / {flushes['p999_ms']:.1f} / "
            f"{flushes['max_ms']:.0f}",
        )
    )
    print(_row(f"flushes over {flushes['slow_ms']} ms", f"{flushes['slow_flushes']:,}"))
    print()


def print_report(results: dict[str, Any]) -> None:
    m = results["machine"]
    print(
        f"\nPodium benchmark, {m['date']}: {m['cores']} cores ({m['cpu']}), "
        f"{m['memory_gib']} GiB, Python {m['python']}; "
        f"load average {m['loadavg_before']} before, {m.get('loadavg_after', '?')} after; "
        f"the host's speed (a fixed Python loop, ms: higher is slower) "
        f"{m.get('probe_ms_before', '?')} before, {m.get('probe_ms_after', '?')} after; "
        f"load generator on {m['load_generator_loop']}; pinning: {m.get('pinning', 'none')}; "
        f"load generator scheduling: {m.get('load_generator_scheduling', 'normal')}"
    )
    for part, trace in results.get("errors", {}).items():
        print(f"\n{part} FAILED:\n{trace}")
    _print_disk(results.get("disk"))
    podium = results.get("podium")
    if podium is None:
        _print_stock_alone(results.get("stock", {}).get("stages", []))
        return
    stock = {
        s["viewers"]: s for s in results.get("stock", {}).get("stages", []) if "broadcast" in s
    }
    workers = podium.get("workers", 1)
    serving = (
        f"{workers} workers sharing the port, with Redis"
        if workers > 1
        else "server in its own process"
    )
    print(
        f"Podium on {podium['database']}, {serving}; "
        f"viewer tokens minted at {podium.get('tokens_per_second')}/s (not a target)\n"
    )
    for stage in podium.get("stages", []):
        if "broadcast" not in stage:
            continue
        n = stage["viewers"]
        b = stage["broadcast"]
        last = b["last_viewer_ms"]
        target = _fanout_target(n)
        print(f" {n:,} viewers")
        print(
            _row(
                "connected / synced",
                f"{stage['connected']:,} / {stage['synced']:,}",
                f"{n:,}",
                stage["connected"] == n and stage["synced"] == n,
            )
        )
        print(
            _row(
                "new connections per second",
                f"{stage['connects_per_second']:,.0f}",
                ">= 2,000",
                stage["connects_per_second"] >= 2000,
            )
        )
        print(
            _row(
                "server memory per viewer (KB)",
                f"{stage['kb_per_viewer']:.1f}",
                "<= 32",
                stage["kb_per_viewer"] <= 32,
            )
        )
        print(
            _row(
                f"fan-out to last viewer p50/p99 ms ({b['broadcasts']})",
                f"{last.get('p50', 0):.1f} / {last.get('p99', 0):.1f}",
                f"p99 <= {target}" if target else "",
                last.get("p99", 1e9) <= target if target else None,
            )
        )
        print(
            _row(
                "server CPU per delivery (us)",
                f"{b['cpu_us_per_delivery']:.2f}",
                "<= 10",
                b["cpu_us_per_delivery"] <= 10,
            )
        )
        if first := stage.get("first_broadcasts"):
            print(
                _row(
                    f"first {first['broadcasts']} p50/p99 ms; us/delivery",
                    f"{first['last_viewer_ms'].get('p50', 0):.1f} / "
                    f"{first['last_viewer_ms'].get('p99', 0):.1f}; "
                    f"{first['cpu_us_per_delivery']:.2f}",
                    "fresh connections",
                )
            )
        print(
            _row(
                "every viewer got every broadcast",
                f"{b['deliveries']:,}/{b['expected_deliveries']:,}",
                "all",
                b["every_viewer_got_every_broadcast"],
            )
        )
        print(
            _row(
                "load generator CPU per delivery (us)",
                f"{b['loadgen_cpu_us_per_delivery']:.2f}",
            )
        )
        if n in stock:
            s = stock[n]["broadcast"]
            s_last = s["last_viewer_ms"]
            print(
                _row(
                    "stock python-socketio p50/p99 ms",
                    f"{s_last.get('p50', 0):.1f} / {s_last.get('p99', 0):.1f}",
                )
            )
            print(_row("stock CPU per delivery (us)", f"{s['cpu_us_per_delivery']:.2f}"))
            print(_row("stock memory per connection (KB)", f"{stock[n]['kb_per_viewer']:.1f}"))
            if s_last.get("p99") and last.get("p99"):
                print(_row("Podium / stock, fan-out p99", f"{last['p99'] / s_last['p99']:.2f}"))
            if s["cpu_us_per_delivery"]:
                ratio = b["cpu_us_per_delivery"] / s["cpu_us_per_delivery"]
                print(_row("Podium / stock, CPU per delivery", f"{ratio:.2f}"))
    if "restart" in podium:
        r = podium["restart"]
        n = podium["stages"][-1]["viewers"]
        print(f" restart (SIGTERM, start again, every viewer reconnects and resyncs), {n:,}")
        print(
            _row(
                "viewers back and resynced",
                f"{r['viewers_back']:,}",
                f"{n:,}",
                r["viewers_back"] == n,
            )
        )
        back = r["all_back_seconds"]
        print(
            _row(
                "SIGTERM to the last resync (s)",
                f"{back}" if back is not None else "-",
                "<= 10",
                back is not None and back <= 10,
            )
        )
        print(_row("of which: stop / start (s)", f"{r['stop_seconds']} / {r['start_seconds']}"))
        _print_left_running("server processes left running by the stop", r)
        print(
            _row(
                "server ready to the last resync (s)",
                f"{r['ready_to_all_back_seconds']}",
                f"backoff {r['reconnect_delay_seconds']:g} s to "
                f"{r['reconnect_delay_max_seconds']:g} s",
            )
        )
        print(_row("a broadcast after the restart reached", f"{r.get('broadcast_after_reached')}"))
    if "socket_writes" in podium:
        w = podium["socket_writes"]
        sub, votes = w["submissions"], w["votes"]
        print(" durable writes over Socket.IO (closed loop, ack after commit)")
        print(
            _row(
                f"submissions/s ({sub['clients']} viewers)",
                f"{sub['per_second']:,.0f}",
                ">= 5,000",
                sub["per_second"] >= 5000,
            )
        )
        print(
            _row(
                "closed loop ack p50/p99 ms",
                f"{sub['ack_ms'].get('p50', 0):.1f} / {sub['ack_ms'].get('p99', 0):.1f}",
                "clients / rate",
            )
        )
        paced = w.get("open_loop_submissions")
        if paced:
            paced_p99 = paced["ack_ms"].get("p99", float("nan"))
            offered, answered = paced["offered_per_second"], paced["accepted"] + paced["refused"]
            print(
                _row(
                    f"open loop at {offered:,.0f}/s offered: accepted",
                    f"{paced['accepted']:,}/{answered:,}",
                    "all, at 5,000/s",
                    paced["accepted"] == answered and offered >= 0.99 * 5000,
                )
            )
            print(
                _row(
                    "open loop submission ack p50/p99 ms",
                    f"{paced['ack_ms'].get('p50', 0):.1f} / {paced_p99:.1f}",
                    f"p99 <= {OPEN_LOOP_P99_TARGET_MS}",
                    paced_p99 <= OPEN_LOOP_P99_TARGET_MS,
                )
            )
            _print_moderator_behind(paced)
        _print_sweep([paced, *w.get("open_loop_sweep", [])] if paced else [])
        print(
            _row(
                f"votes/s ({votes['clients']} viewers)",
                f"{votes['per_second']:,.0f}",
                ">= 10,000",
                votes["per_second"] >= 10000,
            )
        )
        for label, figures in (
            ("submission", sub),
            ("open-loop submission", paced),
            ("vote", votes),
        ):
            if figures and "server_cpu_us_each" in figures:
                print(
                    _row(
                        f"server / load generator CPU per {label} (us)",
                        f"{figures['server_cpu_us_each']:.0f} / "
                        f"{figures['loadgen_cpu_us_each']:.0f}",
                    )
                )
        refused = sub["refused"] + votes["refused"] + (paced or {}).get("refused", 0)
        print(_row("refused", f"{refused}", "0", refused == 0))
    _print_left_running("server processes left running at the end", podium, "_at_end")
    for run in results.get("service_writes", []):
        if "error" in run:
            print(f" bench.writes failed: {run['error'][-300:]}")
            continue
        print(f" durable writes, service path (bench.writes) on {run['database']}")
        for key in ("submissions", "votes"):
            print(
                _row(
                    f"{key}/s, ack p50/p99 ms",
                    f"{run[f'{key}_per_second']:,.0f}, "
                    f"{run[f'{key}_p50_ms']:.1f}/{run[f'{key}_p99_ms']:.1f}",
                    ">= 5,000" if key == "submissions" else ">= 10,000",
                    run[f"{key}_per_second"] >= (5000 if key == "submissions" else 10000),
                )
            )
    print()


def _print_stock_alone(stages: list[dict[str, Any]]) -> None:
    print("stock python-socketio only\n")
    for stage in stages:
        b = stage.get("broadcast")
        if b is None:
            continue
        last = b["last_viewer_ms"]
        print(f" {stage['viewers']:,} connections")
        print(_row("new connections per second", f"{stage['connects_per_second']:,.0f}"))
        print(_row("server memory per connection (KB)", f"{stage['kb_per_viewer']:.1f}"))
        print(_row("fan-out p50/p99 ms", f"{last.get('p50', 0):.1f} / {last.get('p99', 0):.1f}"))
        print(_row("server CPU per delivery (us)", f"{b['cpu_us_per_delivery']:.2f}"))
        print(
            _row("load generator CPU per delivery (us)", f"{b['loadgen_cpu_us_per_delivery']:.2f}")
        )
        print(
            _row(
                "every connection got every broadcast",
                f"{b['deliveries']:,}/{b['expected_deliveries']:,}",
                "all",
                b["every_viewer_got_every_broadcast"],
            )
        )
    print()
