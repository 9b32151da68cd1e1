from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import requests

from tests.conftest import TEST_CORP
from tests.simulator.conftest import Api
from wecom_hr.simulator import Simulator, seed_company

REDIRECT = "http://app.example/wecom/oauth?next=%2Fhr"


def test_authorize_page_lists_members_and_redirects_with_a_code(sim: Simulator, api: Api) -> None:
    seed_company(sim, departments=1, salespeople_per_department=1)
    page = requests.get(sim.oauth_url(REDIRECT, state="xyz"), timeout=5)
    assert page.status_code == 200 and "李娜" in page.text and "userid=lina" in page.text
    hop = requests.get(sim.oauth_url(REDIRECT, state="xyz", userid="lina"), allow_redirects=False, timeout=5)
    assert hop.status_code == 302
    target = urlsplit(hop.headers["Location"])
    query = parse_qs(target.query)
    assert target.netloc == "app.example" and query["next"] == ["/hr"] and query["state"] == ["xyz"]
    code = query["code"][0]
    assert api.get("auth/getuserinfo", code=code)["userid"] == "lina"
    assert api.get("auth/getuserinfo", code=code)["errcode"] == 40029  # single use
    assert sim.calls_to("connect/oauth2/authorize")[-1].http_status == 302


def test_codes_minted_directly_and_the_legacy_path(sim: Simulator, api: Api) -> None:
    seed_company(sim, departments=1, salespeople_per_department=1)
    assert api.get("user/getuserinfo", code=sim.oauth_code_for("lina"))["UserId"] == "lina"
    assert api.get("auth/getuserinfo", code="forged")["errcode"] == 40029


def test_authorize_rejects_a_foreign_appid_and_unknown_member(sim: Simulator) -> None:
    wrong = sim.oauth_url(REDIRECT).replace(TEST_CORP, "wwother")
    assert requests.get(wrong, timeout=5).status_code == 400
    assert requests.get(sim.oauth_url(REDIRECT, userid="ghost"), allow_redirects=False, timeout=5).status_code == 400


def test_web_login_page_lists_members_and_redirects_with_a_code(sim: Simulator, api: Api) -> None:
    seed_company(sim, departments=1, salespeople_per_department=1)
    assert sim.sso_login_url.endswith("/wwlogin/sso/login")
    page = requests.get(sim.sso_url(REDIRECT, state="xyz"), timeout=5)
    assert page.status_code == 200 and "李娜" in page.text and "userid=lina" in page.text
    hop = requests.get(sim.sso_url(REDIRECT, state="xyz", userid="lina"), allow_redirects=False, timeout=5)
    assert hop.status_code == 302
    target = urlsplit(hop.headers["Location"])
    query = parse_qs(target.query)
    assert target.netloc == "app.example" and query["next"] == ["/hr"] and query["state"] == ["xyz"]
    assert api.get("auth/getuserinfo", code=query["code"][0])["userid"] == "lina"
    call = sim.calls_to("wwlogin/sso/login")[-1]
    assert call.http_status == 302 and call.query["login_type"] == "CorpApp"


def test_web_login_checks_its_parameters(sim: Simulator) -> None:
    seed_company(sim, departments=1, salespeople_per_department=1)
    good = parse_qs(urlsplit(sim.sso_url(REDIRECT, state="xyz", userid="lina")).query)
    broken = [{"login_type": "ServiceApp"}, {"appid": "wwother"}, {"agentid": "999"}, {"redirect_uri": ""},
              {"state": ""}, {"userid": "ghost"}]
    for change in broken:
        query = {**{k: v[0] for k, v in good.items()}, **change}
        hop = requests.get(sim.sso_login_url, params=query, allow_redirects=False, timeout=5)
        assert hop.status_code == 400, change
    missing = {k: v[0] for k, v in good.items() if k != "agentid"}
    assert requests.get(sim.sso_login_url, params=missing, allow_redirects=False, timeout=5).status_code == 400
