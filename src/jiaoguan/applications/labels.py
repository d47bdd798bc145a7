"""The workflow's words, once: what each step of an application's history is called, who took it, what the
engine calls a verb in its refusals, and the delivery steps of a result sent by post. Every label is a
(Chinese, English) pair; the API, the portal's timeline and the console's history all read them from here."""
from __future__ import annotations

from jiaoguan.applications.models import Application
from jiaoguan.core.i18n import Bi, choice_label

# The statuses (values and their (zh, en) labels), for pages that compare and name them.
Status = Application.Status

# A step of the history (ApplicationEvent.action), as the applicant's timeline and the staff history show it.
ACTION_LABELS: dict[str, tuple[str, str]] = {
    "draft": ("创建草稿", "Draft started"), "submit": ("提交申请", "Submitted"), "accept": ("受理", "Accepted"),
    "refuse": ("不予受理", "Refused at acceptance"), "review": ("审核通过", "Reviewed"), "approve": ("批准", "Approved"),
    "reject": ("不予批准", "Not approved"), "send_back": ("退回补正", "Sent back for correction"),
    "resubmit": ("补正后重新提交", "Corrected and resubmitted"), "withdraw": ("撤回", "Withdrawn"),
    "confirm": ("复核确认", "Confirmed on review"), "revoke": ("复核撤销", "Revoked on review"),
    "claim": ("认领", "Claimed"), "release": ("释放认领", "Released"), "due_soon": ("时限预警", "Due soon"),
    "escalate": ("超期督办", "Escalated as overdue"), "delivery": ("邮寄进度", "Delivery"),
    "fee_paid": ("规费已缴纳", "Fee paid"), "lapse": ("逾期未缴费，申请关闭", "Closed: fee not paid in time"),
}

# Who took a step (ApplicationEvent.actor_role).
ROLE_LABELS: dict[str, tuple[str, str]] = {
    "citizen": ("申请人", "Applicant"), "enterprise": ("申请人（企业）", "Applicant (enterprise)"),
    "clerk": ("窗口民警", "Clerk"), "approver": ("审批民警", "Approver"), "auditor": ("审计员", "Auditor"),
    "admin": ("管理员", "Administrator"), "system": ("系统", "System"),
}

# A staff verb as the engine names it in its refusals ("不能受理" / "“accept” is not possible").
VERB_LABELS: dict[str, tuple[str, str]] = {
    "accept": ("受理", "accept"), "refuse": ("不予受理", "refuse"), "review": ("审核", "review"),
    "approve": ("批准", "approve"), "reject": ("不予批准", "reject"), "send_back": ("退回补正", "send back"),
    "confirm": ("复核确认", "confirm on review"), "revoke": ("复核撤销", "revoke on review"),
}

# The post's progress of a result's shipment (outcome["post"]["status"]).
DELIVERY_LABELS: dict[str, tuple[str, str]] = {
    "created": ("邮件已交寄", "Handed to the post"), "accepted": ("邮政已收寄", "Accepted by the post"),
    "in_transit": ("运输中", "In transit"), "out_for_delivery": ("派送中", "Out for delivery"),
    "delivered": ("已签收", "Delivered"), "returned": ("已退回", "Returned to sender"),
    "failed": ("交寄失败，正在重试", "Posting failed; retrying"),
}

STATUS_ZH = {s.value: s.label.zh for s in Application.Status}
STATUS_EN = {s.value: s.label.en for s in Application.Status}


def action_label(action: str) -> tuple[str, str]:
    """(zh, en) of a history step; an unknown one is named by its code."""
    return ACTION_LABELS.get(action, (action, action))


def role_label(role: str) -> tuple[str, str]:
    """(zh, en) of the role that took a step; an unknown one is named by its code."""
    return ROLE_LABELS.get(role, (role, role))


def delivery_label(status: str) -> tuple[str, str]:
    """(zh, en) of a delivery step; an unknown one is named by its code."""
    return DELIVERY_LABELS.get(status, (status, status))


def status_label(status: str) -> Bi | str:
    """A status in the reader's language (an unknown one is named by its code)."""
    return choice_label(Application.Status, status)
