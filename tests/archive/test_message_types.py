"""Every message type WeCom documents (doc 91774): stored, searchable where it has text, watched, and
its media found. Each type hides its own word where a person reads it; shapes as the real SDK sends."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from storage.archive import ArchiveMediaRef, ArchiveMessage, WatchHit
from storage.archive_query import parse
from storage.archive_search import Filters, search
from storage.archive_store import NewMessage, append_messages
from storage.db import Database, upgrade, utcnow
from tests.archive.conftest import T0, message
from wecom_hr.archive.messages import MAX_DEPTH, TEXT_CHARS, extract_text, media_refs, parse_message
from wecom_hr.archive.settings import ArchiveSettings, WatchRuleSpec
from wecom_hr.archive.watch import load_rules, match_and_alert


def _s(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False)


# msgtype -> (body fields, the word a person reads in it, or "" when the type has no text)
TYPES: dict[str, tuple[dict[str, Any], str]] = {
    "text": ({"text": {"content": "今天词text见"}}, "词text"),
    "image": ({"image": {"md5sum": "m-img", "filesize": 1, "sdkfileid": "f-image"}}, ""),
    "voice": ({"voice": {"md5sum": "m-voc", "voice_size": 1, "play_length": 3, "sdkfileid": "f-voice"}}, ""),
    "video": ({"video": {"md5sum": "m-vid", "filesize": 1, "play_length": 3, "sdkfileid": "f-video"}}, ""),
    "file": ({"file": {"md5sum": "m-file", "filename": "词file报价.pdf", "fileext": "pdf", "filesize": 1,
                       "sdkfileid": "f-file"}}, "词file"),
    "emotion": ({"emotion": {"type": 1, "width": 1, "height": 1, "imagesize": 1, "md5sum": "m-emo",
                             "sdkfileid": "f-emotion"}}, ""),
    "link": ({"link": {"title": "官网", "description": "详见词link", "link_url": "https://example.com/x",
                       "image_url": ""}}, "词link"),
    "weapp": ({"weapp": {"title": "小程序", "description": "", "username": "gh_1@app",
                         "displayname": "词weapp商城"}}, "词weapp"),
    "card": ({"card": {"corpname": "词card公司", "userid": "wmCard"}}, "词card"),
    "location": ({"location": {"longitude": 113.1, "latitude": 23.1, "address": "词location路1号", "title": "门店",
                               "zoom": 15}}, "词location"),
    "chatrecord": ({"chatrecord": {"title": "群聊的聊天记录", "item": [
        {"type": "ChatRecordText", "msgtime": 1, "content": _s({"content": "转发的词chatrecord"}),
         "from_chatroom": False},
        {"type": "ChatRecordImage", "msgtime": 2, "content": _s({"md5sum": "m-cr", "sdkfileid": "f-cr-image"})},
        {"type": "ChatRecordFile", "msgtime": 3, "content": {"filename": "a.xlsx", "sdkfileid": "f-cr-file"}},
        {"type": "ChatRecordMixed", "msgtime": 4, "content": _s({"item": [
            {"type": "image", "content": _s({"sdkfileid": "f-cr-mixed", "md5sum": ""})}]})},
    ]}}, "词chatrecord"),
    "revoke": ({"revoke": {"pre_msgid": "m-recalled"}}, ""),
    "agree": ({"agree": {"userid": "wmCustomer1", "agree_time": T0}}, ""),
    "disagree": ({"disagree": {"userid": "wmCustomer1", "disagree_time": T0}}, ""),
    "mixed": ({"mixed": {"item": [
        {"type": "text", "content": _s({"content": "图文词mixed"})},
        {"type": "image", "content": _s({"md5sum": "m-mx", "filesize": 1, "sdkfileid": "f-mixed"})},
        {"type": "emotion", "content": {"md5sum": "m-mx2", "sdkfileid": "f-mixed-obj"}},  # an object, not a string
    ]}}, "词mixed"),
    "meeting": ({"meeting": {"topic": "词meeting周会", "starttime": 1, "endtime": 2, "address": "", "remarks": "",
                             "meetingtype": 102, "meetingid": 1, "status": 1}}, "词meeting"),
    "meeting_voice_call": ({"voiceid": "v1", "meeting_voice_call": {
        "endtime": 2, "sdkfileid": "f-voice-call",
        "demofiledata": [{"filename": "词voicecall.pptx", "demoshareruserid": "zhangsan", "starttime": 1}]}},
        "词voicecall"),
    "voip_doc_share": ({"voipid": "vp1", "voip_doc_share": {"filename": "词voipdoc.docx", "md5sum": "m-voip",
                                                            "filesize": 1, "sdkfileid": "f-voip"}}, "词voipdoc"),
    "docmsg": ({"doc": {"title": "词docmsg周报", "doc_creator": "zhangsan", "link_url": "https://doc.weixin.qq.com/x"}},
               "词docmsg"),
    "markdown": ({"info": {"content": "**词markdown** 通知"}}, "词markdown"),
    "news": ({"info": {"item": [{"title": "新闻", "description": "词news摘要", "url": "https://x", "picurl": ""}]}},
             "词news"),
    "calendar": ({"calendar": {"title": "拜访", "creatorname": "张三", "attendeename": ["李四"], "starttime": 1,
                               "endtime": 2, "place": "词calendar会议室", "remarks": ""}}, "词calendar"),
    "collect": ({"collect": {"room_name": "客户群", "creator": "张三", "create_time": "2020-01-01", "title": "报名",
                             "details": [{"id": 1, "ques": "词collect姓名", "type": "Text"}]}}, "词collect"),
    "redpacket": ({"redpacket": {"type": 1, "wish": "词redpacket大吉", "totalcnt": 1, "totalamount": 100}},
                  "词redpacket"),
    "external_redpacket": ({"redpacket": {"type": 1, "wish": "词extredpacket", "totalcnt": 1, "totalamount": 1}},
                           "词extredpacket"),
    "vote": ({"votetitle": "去哪", "voteitem": ["词vote北京", "上海"], "votetype": 101, "voteid": "v1"}, "词vote"),
    "sphfeed": ({"sphfeed": {"feed_type": 4, "sph_name": "词sphfeed号", "feed_desc": "直播"}}, "词sphfeed"),
    "todo": ({"todo": {"title": "待办", "content": "词todo回电"}}, "词todo"),
}

MEDIA: dict[str, list[tuple[str, str]]] = {
    "image": [("f-image", "m-img")], "voice": [("f-voice", "m-voc")], "video": [("f-video", "m-vid")],
    "file": [("f-file", "m-file")], "emotion": [("f-emotion", "m-emo")],
    "mixed": [("f-mixed", "m-mx"), ("f-mixed-obj", "m-mx2")],
    "chatrecord": [("f-cr-image", "m-cr"), ("f-cr-file", ""), ("f-cr-mixed", "")],
    "meeting_voice_call": [("f-voice-call", "")], "voip_doc_share": [("f-voip", "m-voip")],
}
SWITCH = {"msgid": "m-switch", "action": "switch", "time": T0, "user": "zhangsan"}


def _raw(msgtype: str) -> str:
    if msgtype == "switch":
        return _s(SWITCH)
    body, _ = TYPES[msgtype]
    return _s({**message(f"m-{msgtype}", msgtype=msgtype, at=len(msgtype)), **body})  # body may hold "text"


def _all() -> list[NewMessage]:
    return [parse_message(_raw(t), i + 1) for i, t in enumerate([*TYPES, "switch"])]


@pytest.mark.parametrize("msgtype", [*TYPES, "switch"])
def test_every_type_is_parsed_with_its_text_and_media(msgtype: str) -> None:
    parsed = parse_message(_raw(msgtype), 1)
    word = TYPES[msgtype][1] if msgtype in TYPES else ""
    assert parsed.msgtype == msgtype and parsed.msgid == f"m-{msgtype}"
    assert (word in parsed.text) if word else parsed.text == ""
    assert "sdkfileid" not in parsed.text and "f-" not in parsed.text  # ids are not text
    assert media_refs(parsed.raw) == MEDIA.get(msgtype, [])


def test_switch_and_revoke_keep_who_and_what() -> None:
    switch = parse_message(_raw("switch"), 1)
    assert (switch.sender, switch.msgtime, switch.action) == ("zhangsan", T0, "switch")
    assert parse_message(_raw("revoke"), 2).ref_msgid == "m-recalled"


def test_every_type_is_stored_and_searchable(db: Database) -> None:
    with db.session_scope() as s:
        positions = {m.msgtype: pos for pos, m in append_messages(s, _all())}
    assert set(positions) == {*TYPES, "switch"}
    with db.session_scope() as s:
        for msgtype, (_, word) in TYPES.items():
            if word:
                assert search(s, parse(word)).ids == [positions[msgtype]], msgtype
            assert search(s, parse(""), Filters(msgtype=msgtype)).ids == [positions[msgtype]], msgtype
        stored = {m.msgtype for m in s.scalars(select(ArchiveMessage))}
    assert stored == {*TYPES, "switch"}


def test_every_type_with_text_is_watched(db: Database) -> None:
    words = {t: w for t, (_, w) in TYPES.items() if w}
    rules = tuple(WatchRuleSpec(f"rule-{t}", (w,), severity="low") for t, w in words.items())
    settings = ArchiveSettings(default_rules=False, watch_rules=rules)
    with db.session_scope() as s:
        hits = match_and_alert(s, load_rules(s, settings), _all(), ["compliance1"], lambda m: m, utcnow())
    with db.session_scope() as s:
        got = {(h.rule, h.msgid) for h in s.scalars(select(WatchHit))}
    assert got == {(f"config:rule-{t}", f"m-{t}") for t in words} and hits == len(words)


def _chatrecord(depth: int, word: str) -> dict[str, Any]:
    record: dict[str, Any] = {"title": "", "item": [{"type": "ChatRecordText", "content": _s({"content": word})}]}
    for _ in range(depth):
        record = {"title": "", "item": [{"type": "chatrecord", "content": _s(record)}]}
    return record


def test_nesting_is_walked_to_a_bounded_depth() -> None:
    shallow = {"chatrecord": _chatrecord(MAX_DEPTH - 1, "浅层词")}
    deep = {"chatrecord": _chatrecord(MAX_DEPTH + 5, "深层词")}
    assert "浅层词" in extract_text("chatrecord", shallow)
    assert extract_text("chatrecord", deep) == ""


@pytest.mark.parametrize("body", [
    {"mixed": "not json"}, {"mixed": {"item": "x"}}, {"mixed": {"item": [1, None, {"type": 3, "content": 5}]}},
    {"chatrecord": [1, 2]}, {"chatrecord": {"item": [{"content": "[1,2]"}]}}, {"info": []}, {"info": {"item": 7}},
    {"voteitem": {"a": 1}, "votetitle": ["x"]}, {"collect": {"details": [None, "s", {"ques": {"x": 1}}]}},
    {"revoke": "m1"}, {"tolist": "abc", "text": None}, {"meeting_voice_call": {"demofiledata": "x"}},
    {"mixed": {"item": [{"type": "text", "content": "[" * 100_000}]}},
])
def test_odd_shapes_never_raise(body: dict[str, Any]) -> None:
    for msgtype in ("mixed", "chatrecord", "news", "vote", "collect", "revoke", "text", "meeting_voice_call"):
        raw = _s({"msgid": "m1", "msgtype": msgtype, "from": "zhangsan", **body})
        parsed = parse_message(raw, 1)
        assert isinstance(parsed.text, str)
        assert isinstance(media_refs(raw), list)


def test_text_is_bounded() -> None:
    items = [{"type": "text", "content": _s({"content": "长" * 5000})} for _ in range(50)]
    text = parse_message(_s(message("m1", msgtype="mixed", mixed={"item": items})), 1).text
    assert len(text) == TEXT_CHARS


def test_the_upgrade_records_media_refs_of_types_read_only_now(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0007")  # before chatrecord items, meeting_voice_call and voip_doc_share were read
    old = Database(url)
    try:
        with old.session_scope() as s:
            append_messages(s, [parse_message(_raw(t), i) for i, t in enumerate(("chatrecord", "voip_doc_share"))])
    finally:
        old.dispose()
    upgrade(url)
    db = Database(url)
    try:
        with db.session_scope() as s:
            refs = {(r.msgid, r.sdkfileid) for r in s.execute(select(ArchiveMediaRef.msgid, ArchiveMediaRef.sdkfileid))}
    finally:
        db.dispose()
    assert refs == {("m-chatrecord", f) for f, _ in MEDIA["chatrecord"]} | {("m-voip_doc_share", "f-voip")}
