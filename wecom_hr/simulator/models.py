"""The records a simulated corp holds, each able to render itself as qyapi JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STATUS_ACTIVE, STATUS_DISABLED, STATUS_INACTIVE, STATUS_LEFT = 1, 2, 4, 5
TRANSFER_DONE, TRANSFER_WAITING, TRANSFER_REFUSED, TRANSFER_AT_LIMIT = 1, 2, 3, 4


@dataclass(slots=True)
class Department:
    id: int
    name: str
    parentid: int = 0
    order: int = 0
    department_leader: list[str] = field(default_factory=list)
    name_en: str = ""

    def to_api(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "name_en": self.name_en,
                "department_leader": list(self.department_leader), "parentid": self.parentid,
                "order": self.order}


@dataclass(slots=True)
class User:
    """A member. ``is_leader_in_dept`` is a 0/1 flag per entry of ``department``, as in qyapi."""

    userid: str
    name: str
    department: list[int] = field(default_factory=lambda: [1])
    is_leader_in_dept: list[int] = field(default_factory=list)
    position: str = ""
    mobile: str = ""
    gender: str = "0"
    email: str = ""
    status: int = STATUS_ACTIVE
    main_department: int = 0
    direct_leader: list[str] = field(default_factory=list)
    alias: str = ""
    avatar: str = ""
    dimission_time: int = 0

    def __post_init__(self) -> None:
        if not self.is_leader_in_dept:
            self.is_leader_in_dept = [0] * len(self.department)
        if len(self.is_leader_in_dept) != len(self.department):
            raise ValueError("is_leader_in_dept needs one 0/1 flag per department")
        if not self.main_department and self.department:
            self.main_department = self.department[0]

    def to_api(self) -> dict[str, Any]:
        return {"userid": self.userid, "name": self.name, "department": list(self.department),
                "order": [0] * len(self.department), "position": self.position, "mobile": self.mobile,
                "gender": self.gender, "email": self.email, "biz_mail": "",
                "is_leader_in_dept": list(self.is_leader_in_dept),
                "direct_leader": list(self.direct_leader), "avatar": self.avatar,
                "thumb_avatar": self.avatar, "telephone": "", "alias": self.alias, "status": self.status,
                "address": "", "open_userid": f"wo{self.userid}", "main_department": self.main_department,
                "extattr": {"attrs": []}, "qr_code": "", "external_position": ""}

    def to_simple(self) -> dict[str, Any]:
        return {"userid": self.userid, "name": self.name, "department": list(self.department),
                "open_userid": f"wo{self.userid}"}


@dataclass(slots=True)
class ExternalContact:
    """A customer; ``type`` 1 is a WeChat user (no corp_name), 2 a WeCom user."""

    external_userid: str
    name: str
    type: int = 1
    corp_name: str = ""
    corp_full_name: str = ""
    position: str = ""
    gender: int = 0
    avatar: str = ""
    unionid: str = ""

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"external_userid": self.external_userid, "name": self.name,
                                "type": self.type, "avatar": self.avatar, "gender": self.gender}
        if self.unionid:
            data["unionid"] = self.unionid
        if self.type == 2:
            data.update(corp_name=self.corp_name, corp_full_name=self.corp_full_name,
                        position=self.position)
        return data


@dataclass(slots=True)
class Tag:
    tag_id: str
    tag_name: str
    group_name: str = "客户等级"
    type: int = 1


@dataclass(slots=True)
class Follow:
    """One member following one customer (the relation a transfer moves)."""

    userid: str
    external_userid: str
    createtime: int
    remark: str = ""
    description: str = ""
    remark_corp_name: str = ""
    remark_mobiles: list[str] = field(default_factory=list)
    tags: list[Tag] = field(default_factory=list)
    add_way: int = 1
    oper_userid: str = ""
    state: str = ""
    deleted_by_customer: bool = False  # WeCom keeps a one-way deleted customer in the member's list
    half: bool = False  # add_half_external_contact: the member has not added back; the API answers 84061

    def _common(self) -> dict[str, Any]:
        data: dict[str, Any] = {"userid": self.userid, "remark": self.remark,
                                "description": self.description, "createtime": self.createtime,
                                "remark_mobiles": list(self.remark_mobiles), "add_way": self.add_way,
                                "oper_userid": self.oper_userid or self.userid}
        if self.remark_corp_name:
            data["remark_corp_name"] = self.remark_corp_name
        if self.state:
            data["state"] = self.state
        return data

    def to_follow_user(self) -> dict[str, Any]:
        """Personal tags (type 2) come without tag_id or group: "仅企业设置（type为1）的标签返回"."""
        tags = [{"group_name": t.group_name, "tag_name": t.tag_name, "tag_id": t.tag_id, "type": t.type}
                if t.type == 1 else {"tag_name": t.tag_name, "type": t.type} for t in self.tags]
        return {**self._common(), "tags": tags}

    def to_follow_info(self) -> dict[str, Any]:
        """batch/get_by_user lists company tag ids only; personal tags are not in it at all."""
        return {**self._common(), "tag_id": [t.tag_id for t in self.tags if t.type == 1]}


@dataclass(slots=True)
class ChatMember:
    userid: str
    type: int = 1  # 1 member, 2 external contact
    join_time: int = 0
    join_scene: int = 1
    invitor: str = ""

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"userid": self.userid, "type": self.type, "join_time": self.join_time,
                                "join_scene": self.join_scene, "group_nickname": "", "name": ""}
        if self.invitor:
            data["invitor"] = {"userid": self.invitor}
        return data


@dataclass(slots=True)
class GroupChat:
    chat_id: str
    name: str
    owner: str
    create_time: int
    members: list[ChatMember] = field(default_factory=list)
    notice: str = ""
    status: int = 0
    admin_list: list[str] = field(default_factory=list)
    customer_group: bool = True
    inheriting_to: str = ""   # a resigned owner's chat being inherited (90507 until it finishes)
    inherited_from: str = ""  # the resigned owner it was inherited from (90508 when asked again)

    def to_api(self) -> dict[str, Any]:
        return {"chat_id": self.chat_id, "name": self.name, "owner": self.owner,
                "create_time": self.create_time, "notice": self.notice,
                "member_list": [m.to_api() for m in self.members],
                "admin_list": [{"userid": u} for u in self.admin_list], "member_version": "1"}


@dataclass(slots=True)
class Transfer:
    handover_userid: str
    takeover_userid: str
    external_userid: str
    resigned: bool
    started_at: float
    status: int = TRANSFER_WAITING
    takeover_time: int = 0
    takeover_was_friend: bool = False  # no add_external_contact then (doc 96325)

    def to_result(self) -> dict[str, Any]:
        return {"external_userid": self.external_userid, "status": self.status,
                "takeover_time": self.takeover_time}


@dataclass(slots=True)
class SentCard:
    task_id: str
    card_type: str
    recipients: list[str]
    card: dict[str, Any]
    msgid: str


@dataclass(slots=True)
class ResponseGrant:
    """A response_code: lets the app update one card once, within 72 hours."""

    task_id: str
    userids: list[str]
    expires_at: float
    used: bool = False
