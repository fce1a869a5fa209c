"""Cursor on Target output (serve --cot).

Every event is checked two ways: parsed by takproto (a TAK library: it turns
CoT XML into the TAK protobuf message ATAK and TAK servers use), and
validated with lxml against the CoT event base schema below (the elements
and attributes of MITRE's public CoT ``event.xsd``: ``event`` with version,
uid, type, time, start, stale, how; ``point`` with lat, lon, hae, ce, le;
``detail`` open to any content).
"""
import socket
import time

import numpy as np
import pytest

takproto = pytest.importorskip("takproto", reason="the CoT tests need takproto (tests extra)")
etree = pytest.importorskip("lxml.etree", reason="the CoT tests need lxml (tests extra)")

from ingest.codec import encode_plots
from ingest.schema import TRACK_ROW_DTYPE
from radarcore.service.cot import CotSender, alert_event, cot_type, parse_url, track_event
from radarcore.service.emulate import plan_bursts
from radarcore.service.serve import Service, warm_up
from radarcore.sim.simulate import simulate

WAIT_S = 30.0

COT_EVENT_XSD = b"""<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" elementFormDefault="qualified">
  <xs:element name="event">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="point">
          <xs:complexType>
            <xs:attribute name="lat" use="required">
              <xs:simpleType><xs:restriction base="xs:decimal">
                <xs:minInclusive value="-90"/><xs:maxInclusive value="90"/></xs:restriction></xs:simpleType>
            </xs:attribute>
            <xs:attribute name="lon" use="required">
              <xs:simpleType><xs:restriction base="xs:decimal">
                <xs:minInclusive value="-180"/><xs:maxInclusive value="180"/></xs:restriction></xs:simpleType>
            </xs:attribute>
            <xs:attribute name="hae" type="xs:decimal" use="required"/>
            <xs:attribute name="ce" type="xs:decimal" use="required"/>
            <xs:attribute name="le" type="xs:decimal" use="required"/>
          </xs:complexType>
        </xs:element>
        <xs:element name="detail" minOccurs="0">
          <xs:complexType>
            <xs:sequence><xs:any processContents="lax" minOccurs="0" maxOccurs="unbounded"/></xs:sequence>
          </xs:complexType>
        </xs:element>
      </xs:sequence>
      <xs:attribute name="version" type="xs:decimal" use="required"/>
      <xs:attribute name="type" use="required">
        <xs:simpleType><xs:restriction base="xs:string">
          <xs:pattern value="\\w+(-\\w+)*(;[^;]*)?"/></xs:restriction></xs:simpleType>
      </xs:attribute>
      <xs:attribute name="uid" type="xs:string" use="required"/>
      <xs:attribute name="time" type="xs:dateTime" use="required"/>
      <xs:attribute name="start" type="xs:dateTime" use="required"/>
      <xs:attribute name="stale" type="xs:dateTime" use="required"/>
      <xs:attribute name="how" use="required">
        <xs:simpleType><xs:restriction base="xs:string">
          <xs:pattern value="\\w(-\\w+)*"/></xs:restriction></xs:simpleType>
      </xs:attribute>
      <xs:attribute name="access" type="xs:string"/>
      <xs:attribute name="qos" type="xs:string"/>
      <xs:attribute name="opex" type="xs:string"/>
    </xs:complexType>
  </xs:element>
</xs:schema>
"""
SCHEMA = etree.XMLSchema(etree.fromstring(COT_EVENT_XSD))


def check(xml):
    """Validate against the schema and parse with takproto; the TAK message's CoT event."""
    document = etree.fromstring(xml)
    SCHEMA.assertValid(document)
    message = takproto.parse_proto(bytearray(xml))
    assert message is not None, xml
    return message.cotEvent, document


def row(track_id=12, status=2, lat=31.3, lon=120.62, alt=150.0, ve=3.0, vn=4.0, sigma=8.0):
    r = np.zeros(1, dtype=TRACK_ROW_DTYPE)[0]
    r["time_s"], r["track_id"], r["status"] = 10.0, track_id, status
    r["lat_deg"], r["lon_deg"], r["alt_m"] = lat, lon, alt
    r["v_east_mps"], r["v_north_mps"], r["sigma_pos_m"] = ve, vn, sigma
    return r


@pytest.mark.parametrize("track_class, level, expected", [
    ("drone", None, "a-u-A-M-F-Q"), ("drone", "warning", "a-s-A-M-F-Q"), ("drone", "alert", "a-h-A-M-F-Q"),
    ("drone", "critical", "a-h-A-M-F-Q"), ("aircraft", None, "a-u-A"), ("aircraft", "critical", "a-h-A"),
    ("bird", None, "a-n-A"), ("bird", "critical", "a-h-A"), ("unknown", None, "a-u-A"),
    ("unknown", "warning", "a-s-A"), ("something else", None, "a-u-A"),
])
def test_cot_type_by_class_and_affiliation(track_class, level, expected):
    assert cot_type(track_class, level) == expected


def test_track_event_is_valid_cot_that_a_tak_library_reads():
    now = 1_790_000_000.25
    xml = track_event(row(), "drone", 0.93, {"alert_id": 7, "level": "critical", "asset_id": "plant-1"},
                      now_s=now, stale_s=15.0)
    cot, document = check(xml)
    assert cot.type == "a-h-A-M-F-Q" and cot.uid == "radarcore.track.12" and cot.how == "m-f"
    assert cot.lat == pytest.approx(31.3) and cot.lon == pytest.approx(120.62) and cot.hae == pytest.approx(150.0)
    assert cot.ce == pytest.approx(8.0) and cot.le == pytest.approx(9999999.0)
    assert cot.sendTime == cot.startTime == int(now * 1000)
    assert cot.staleTime - cot.sendTime == 15_000
    track = document.find("detail/track")
    assert float(track.get("speed")) == pytest.approx(5.0)
    assert float(track.get("course")) == pytest.approx(36.9, abs=0.05)       # atan2(3, 4), from north
    assert document.find("detail/contact").get("callsign") == "RC 12"
    assert "drone (0.93)" in document.find("detail/remarks").text
    assert "alert 7 critical plant-1" in document.find("detail/remarks").text


def test_a_track_with_missing_numbers_still_gives_valid_cot():
    cot, _ = check(track_event(row(alt=np.nan, sigma=np.nan, ve=np.nan), now_s=1_790_000_000.0))
    assert cot.hae == pytest.approx(9999999.0) and cot.ce == pytest.approx(9999999.0)


def test_alert_event_links_its_track_and_a_clear_is_stale_at_once():
    raise_ = {"time_s": 63.0, "alert_id": 7, "event": "raise", "asset_id": "plant<1>", "level": "alert",
              "track_id": 12, "time_to_entry_s": 41.5, "cpa_m": 180.0}
    now = 1_790_000_000.0
    cot, document = check(alert_event(raise_, 31.3, 120.62, 100.0, "a-h-A-M-F-Q", now_s=now, stale_s=300.0))
    assert cot.type == "b-m-p-s-p-i" and cot.uid == "radarcore.alert.7"
    assert cot.staleTime - cot.sendTime == 300_000
    link = document.find("detail/link")
    assert link.get("uid") == "radarcore.track.12" and link.get("type") == "a-h-A-M-F-Q"
    assert document.find("detail/contact").get("callsign") == "ALERT 7 ALERT plant<1>"   # escaped, read back
    assert "entry in 42 s, CPA 180 m" in document.find("detail/remarks").text
    cot, _ = check(alert_event(dict(raise_, event="clear"), 31.3, 120.62, 100.0, now_s=now))
    assert cot.staleTime == cot.sendTime


def test_cot_url_is_checked():
    assert parse_url("udp://239.2.3.1:6969") == ("udp", "239.2.3.1", 6969)
    assert parse_url("tcp://tak.local:8087") == ("tcp", "tak.local", 8087)
    for bad in ("239.2.3.1:6969", "http://host:1", "udp://host", "udp://:5"):
        with pytest.raises(ValueError, match="udp://HOST:PORT"):
            parse_url(bad)


def _rows(n, status=2):
    rows = np.zeros(n, dtype=TRACK_ROW_DTYPE)
    rows["time_s"] = 5.0
    rows["track_id"] = np.arange(1, n + 1)
    rows["status"] = status
    rows["lat_deg"], rows["lon_deg"], rows["alt_m"], rows["sigma_pos_m"] = 31.3, 120.62, 100.0, 5.0
    return rows


def test_udp_sender_sends_tracks_and_alerts_with_affiliation_from_the_alert():
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(WAIT_S)
    sender = CotSender(f"udp://127.0.0.1:{listener.getsockname()[1]}").start()
    try:
        rows = _rows(3)
        rows["status"][2] = 1                   # tentative: not sent
        sender.offer_tracks(rows)
        sender.offer_alerts([{"time_s": 5.0, "alert_id": 9, "event": "advisory", "asset_id": "a", "level": "alert",
                              "track_id": 1, "class": "unknown", "class_confidence": 0.5}])   # no marker
        sender.offer_alerts([{"time_s": 5.0, "alert_id": 1, "event": "raise", "asset_id": "a", "level": "critical",
                              "track_id": 2, "class": "drone", "class_confidence": 0.9}])
        got = [check(listener.recv(65536))[0] for _ in range(4)]
    finally:
        sender.close()
        listener.close()
    assert [(c.uid, c.type) for c in got] == [
        ("radarcore.track.1", "a-u-A"), ("radarcore.track.2", "a-u-A"),
        ("radarcore.track.2", "a-h-A-M-F-Q"),          # re-sent at once with its alert's affiliation
        ("radarcore.alert.1", "b-m-p-s-p-i")]
    assert sender.counters() == {"events_sent": 4, "dropped": 0, "send_errors": 0}


def test_tcp_sender_streams_events_and_never_blocks_the_offerer_when_nobody_listens():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(WAIT_S)
    sender = CotSender(f"tcp://127.0.0.1:{server.getsockname()[1]}").start()
    try:
        sender.offer_tracks(_rows(5))
        connection, _ = server.accept()
        connection.settimeout(WAIT_S)
        data = b""
        while data.count(b"</event>") < 5:
            data += connection.recv(65536)
        connection.close()
    finally:
        sender.close()
        server.close()
    events = [b"<?xml" + part for part in data.split(b"<?xml")[1:]]
    assert [check(e)[0].uid for e in events] == [f"radarcore.track.{i}" for i in range(1, 6)]
    # nobody at the port: offers return at once, and what cannot go is counted
    sender = CotSender("tcp://127.0.0.1:9").start()
    try:
        t0 = time.monotonic()
        for _ in range(1000):
            sender.offer_tracks(_rows(2))
        offered_in = time.monotonic() - t0
    finally:
        sender.close(timeout_s=10.0)
    assert sender.events_sent == 0 and sender.dropped + sender.send_errors > 0
    assert offered_in < WAIT_S


def test_serve_cot_sends_the_tracks_it_publishes():
    import threading

    import zmq

    scenario = simulate("sparse", seed=1, duration_s=60)
    warm_up(scenario.site)  # compile before the clock starts, as serve does at start-up
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    # UDP drops what a full buffer cannot hold: read from the start, into a large buffer
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(0.2)
    events, done = [], threading.Event()

    def read():
        while not done.is_set():
            try:
                events.append(listener.recv(65536))
            except socket.timeout:
                continue

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    context = zmq.Context()
    push = context.socket(zmq.PUSH)
    types, uids = set(), set()
    try:
        with Service(scenario.site, "tcp://127.0.0.1:*", "tcp://127.0.0.1:*",
                     cot_url=f"udp://127.0.0.1:{listener.getsockname()[1]}") as service:
            push.setsockopt(zmq.LINGER, 1000)
            push.connect(service.plots_address)
            seq = {}
            for burst in plan_bursts(scenario.plots):
                n = seq.get(burst.radar_id, 0)
                seq[burst.radar_id] = n + 1
                push.send_multipart(encode_plots(burst.radar_id, n, scenario.plots[burst.index]))
            # generous: a loaded machine may still compile the first engine steps
            deadline = time.monotonic() + 4 * WAIT_S
            while time.monotonic() < deadline and not any(u.startswith("radarcore.alert.")
                                                          for u in uids):
                while events:
                    cot, _ = check(events.pop(0))
                    types.add(cot.type)
                    uids.add(cot.uid)
                time.sleep(0.05)
    finally:
        # a failed wait must not leave a socket open: the context's term would then block
        done.set()
        reader.join(timeout=5)
        push.close(linger=0)
        context.term()
        listener.close()
    assert any(u.startswith("radarcore.track.") for u in uids)
    assert any(u.startswith("radarcore.alert.") for u in uids), "no alert reached CoT"
    assert types <= {cot_type(c, lv) for c in ("drone", "bird", "aircraft", "unknown")
                     for lv in (None, "warning", "alert", "critical")} | {"b-m-p-s-p-i"}


def test_serve_refuses_a_bad_cot_url():
    site = simulate("sparse", seed=1, duration_s=1).site
    with pytest.raises(ValueError, match="udp://HOST:PORT"):
        Service(site, "tcp://127.0.0.1:*", "tcp://127.0.0.1:*", cot_url="multicast:6969")
