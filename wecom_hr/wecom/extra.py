"""Endpoints wechatpy 2.0.0a26 lacks or gets wrong (see ../shared/WECOM.md §3), on its BaseWeChatAPI."""

from __future__ import annotations

from typing import Any

from wechatpy.client.api.base import BaseWeChatAPI

BATCH = 100  # WeCom's limit for userid_list, transfers and group-chat transfers


class WeComExtraAPI(BaseWeChatAPI):
    def batch_get_by_user(self, userids: list[str], cursor: str = "", limit: int = 100) -> dict[str, Any]:
        # wechatpy sends the legacy single "userid"; WeCom wants userid_list (≤100).
        if not 0 < len(userids) <= BATCH:
            raise ValueError("batch_get_by_user takes 1..100 userids")
        return self._post("externalcontact/batch/get_by_user",
                          data={"userid_list": userids, "cursor": cursor, "limit": min(limit, 100)})

    def get_external_contact(self, external_userid: str, cursor: str = "") -> dict[str, Any]:
        params = {"external_userid": external_userid}
        if cursor:
            params["cursor"] = cursor
        return self._get("externalcontact/get", params=params)

    def update_template_card(self, userids: list[str], agentid: int, response_code: str,
                             replace_name: str | None = None,
                             template_card: dict[str, Any] | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {"userids": userids, "agentid": agentid, "response_code": response_code}
        if template_card is not None:
            data["template_card"] = template_card
        else:
            data["button"] = {"replace_name": replace_name or ""}
        return self._post("message/update_template_card", data=data)

    def transfer_customer(self, handover: str, takeover: str, external_userids: list[str],
                          success_msg: str = "", resigned: bool = False) -> dict[str, Any]:
        if not 0 < len(external_userids) <= BATCH:
            raise ValueError("transfer_customer takes 1..100 customers")
        data: dict[str, Any] = {"handover_userid": handover, "takeover_userid": takeover,
                                "external_userid": external_userids}
        if success_msg and not resigned:
            data["transfer_success_msg"] = success_msg
        path = "externalcontact/resigned/transfer_customer" if resigned else "externalcontact/transfer_customer"
        return self._post(path, data=data)

    def transfer_result(self, handover: str, takeover: str, cursor: str = "", resigned: bool = False) -> dict[str, Any]:
        path = "externalcontact/resigned/transfer_result" if resigned else "externalcontact/transfer_result"
        return self._post(path, data={"handover_userid": handover, "takeover_userid": takeover, "cursor": cursor})

    def transfer_group_chats(self, chat_ids: list[str], new_owner: str, resigned: bool = False) -> dict[str, Any]:
        if not 0 < len(chat_ids) <= BATCH:
            raise ValueError("group chat transfer takes 1..100 chats")
        path = "externalcontact/groupchat/transfer" if resigned else "externalcontact/groupchat/onjob_transfer"
        return self._post(path, data={"chat_id_list": chat_ids, "new_owner": new_owner})

    def list_group_chats(self, owners: list[str], cursor: str = "", limit: int = 1000) -> dict[str, Any]:
        data: dict[str, Any] = {"status_filter": 0, "owner_filter": {"userid_list": owners},
                                "cursor": cursor, "limit": limit}
        return self._post("externalcontact/groupchat/list", data=data)

    def get_unassigned_list(self, cursor: str = "", page_size: int = 1000) -> dict[str, Any]:
        return self._post("externalcontact/get_unassigned_list", data={"cursor": cursor, "page_size": page_size})

    def get_user_info(self, code: str) -> dict[str, Any]:
        return self._get("auth/getuserinfo", params={"code": code})

    def msgaudit_permit_users(self, type_: int | None = None) -> dict[str, Any]:
        return self._post("msgaudit/get_permit_user_list", data={} if type_ is None else {"type": type_})

    def msgaudit_check_single_agree(self, pairs: list[tuple[str, str]]) -> dict[str, Any]:
        info = [{"userid": u, "exteranalopenid": e} for u, e in pairs]  # sic: WeCom's spelling
        return self._post("msgaudit/check_single_agree", data={"info": info})

    def msgaudit_groupchat(self, roomid: str) -> dict[str, Any]:
        return self._post("msgaudit/groupchat/get", data={"roomid": roomid})
