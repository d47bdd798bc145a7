"""Journey (b): a clerk finds a person, unmasks their record with a reason, and the auditor sees the rows."""
import pytest

from tests.portal.support import PASSWORD, citizen_records, staff_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _log_in(j, username):
    j.goto("/console/login/")
    j.page.get_by_label("用户名（警号）").fill(username)
    j.page.get_by_label("密码", exact=True).fill(PASSWORD)
    j.page.get_by_role("button", name="登录", exact=True).click()
    j.page.wait_for_url(j.base_url + "/console/")


def test_clerk_unmasks_and_the_auditor_sees_it(journey):
    person, licence, car = citizen_records(name="黄志强", address="广东省深圳市福田区福华一路88号")
    staff_user("clerk", "clerk001", display_name="张警官")
    staff_user("auditor", "audit001", display_name="审计员刘")
    j = journey("staff")
    page = j.page

    j.goto("/console/login/")
    assert "工作人员登录" in j.text()
    j.shot("01-login")
    _log_in(j, "clerk001")
    assert "张警官，您好" in j.text()

    # find the person by ID number (from the start page's search box)
    page.get_by_label("居民身份证号码").fill(person.id_number)
    page.get_by_role("button", name="查询").click()
    page.wait_for_url("**/console/persons/?**")
    body = j.text()
    assert "找到 1 人" in body and "黄*强" in body and person.id_number not in body
    j.shot("02-search")

    page.get_by_role("link", name="查看档案").click()
    page.wait_for_url(f"**/console/persons/{person.pk}/")
    body = j.text()
    assert "个人信息已脱敏显示" in body
    for secret in (person.name, person.id_number, person.phone, person.address):
        assert secret not in body
    assert licence.file_number in body and f"粤B·{car.plate[2:]}" in body
    j.shot("03-record-masked")

    # unmasking needs a reason
    page.get_by_role("button", name="查看完整信息").click()
    page.wait_for_url(f"**/console/persons/{person.pk}/unmask/")
    assert "请填写查看原因" in j.text()
    page.get_by_label("查看完整信息的原因").fill("窗口办理换证，核对身份")
    page.get_by_role("button", name="查看完整信息").click()
    body = j.text()
    for secret in (person.name, person.id_number, person.phone, person.address):
        assert secret in body
    j.shot("04-record-unmasked")

    page.get_by_role("button", name="退出").click()
    page.wait_for_url("**/console/login/")

    # the auditor
    _log_in(j, "audit001")
    page.get_by_role("link", name="访问审计").first.click()
    page.wait_for_url("**/console/audit/access/")
    body = j.text()
    assert "clerk001" in body and "窗口民警" in body
    assert "查看完整信息" in body and "窗口办理换证，核对身份" in body and "查看（已脱敏）" in body
    assert "黄*强" in body and person.id_number not in body
    j.shot("05-audit")

    page.get_by_label("被查询人身份证号码").fill(person.id_number)
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url("**/console/audit/access/?**")
    body = j.text()
    assert "共 3 条记录" in body  # view, refused unmask (shown masked again: a view), unmask
    j.shot("06-audit-filtered")
