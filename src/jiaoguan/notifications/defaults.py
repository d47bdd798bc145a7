"""The message templates every city starts with (seeded by migration 0002; staff edit them in the admin).

A template's text is channel-independent: the SMS channel puts the signature 【交管】 in front of the Chinese
text ("[Jiaoguan] " in front of the English) and the inbox shows the text as it is. ``params`` are the names a
caller must pass; ``secret`` names are one-time codes, never stored in clear (the rendered body is encrypted).

If a row is missing from the table (deleted in the admin, or a test that flushed the database), sending falls
back to the default here, so code that sends a message never breaks because of data; a row that exists wins,
and an inactive row switches the message off.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DefaultTemplate:
    code: str
    description: str
    params: tuple[str, ...]
    subject_zh: str
    subject_en: str
    body_zh: str
    body_en: str
    secret: tuple[str, ...] = ()


_OTP = ("code", "minutes")

TEMPLATES: tuple[DefaultTemplate, ...] = (
    DefaultTemplate(
        code="otp.register",
        description="注册验证码 Registration code",
        params=_OTP,
        secret=("code",),
        subject_zh="注册验证码",
        subject_en="Registration code",
        body_zh="验证码：{code}，您正在注册交管账户，{minutes}分钟内有效。请勿将验证码告诉他人。",
        body_en="Code {code}: you are registering a Jiaoguan account. Valid for {minutes} minutes. "
                "Never share this code with anyone.",
    ),
    DefaultTemplate(
        code="otp.login",
        description="登录验证码 Login code",
        params=_OTP,
        secret=("code",),
        subject_zh="登录验证码",
        subject_en="Login code",
        body_zh="验证码：{code}，您正在登录交管账户，{minutes}分钟内有效。请勿将验证码告诉他人；"
                "如非本人操作，请尽快修改密码。",
        body_en="Code {code}: you are logging in to Jiaoguan. Valid for {minutes} minutes. Never share this code; "
                "if this was not you, change your password soon.",
    ),
    DefaultTemplate(
        code="otp.reset",
        description="重置密码验证码 Password reset code",
        params=_OTP,
        secret=("code",),
        subject_zh="重置密码验证码",
        subject_en="Password reset code",
        body_zh="验证码：{code}，您正在重置交管账户密码，{minutes}分钟内有效。请勿将验证码告诉他人；"
                "如非本人操作，请忽略本短信。",
        body_en="Code {code}: you are resetting your Jiaoguan password. Valid for {minutes} minutes. Never share "
                "this code; if this was not you, ignore this message.",
    ),
    DefaultTemplate(
        code="otp.phone",
        description="更换账户手机号验证码（发给新手机号） Code to change the account's phone (sent to the new phone)",
        params=_OTP,
        secret=("code",),
        subject_zh="更换手机号验证码",
        subject_en="Phone change code",
        body_zh="验证码：{code}，您正在将交管账户的手机号更换为本号码，{minutes}分钟内有效。请勿将验证码告诉他人；"
                "如非本人操作，请忽略本短信。",
        body_en="Code {code}: you are changing the phone number of your Jiaoguan account to this number. Valid for "
                "{minutes} minutes. Never share this code; if this was not you, ignore this message.",
    ),
    DefaultTemplate(
        code="otp.bind",
        description="车主确认他人绑定车辆的验证码（发给车主） Code for the owner to confirm a binding",
        params=("code", "minutes", "plate", "requester"),
        secret=("code",),
        subject_zh="他人申请绑定您的车辆",
        subject_en="Someone asks to bind your vehicle",
        body_zh="{requester}申请将您名下的机动车{plate}绑定到其交管账户。只有在您同意时，才将验证码{code}告诉对方"
                "（{minutes}分钟内有效）；如不同意，请勿提供验证码，绑定不会成功。",
        body_en="{requester} asks to bind your vehicle {plate} to their Jiaoguan account. Only if you agree, give "
                "them the code {code} (valid for {minutes} minutes); if you do not agree, do not share it and the "
                "binding will not happen.",
    ),
    DefaultTemplate(
        code="binding.confirmed",
        description="车主已确认，绑定成功（发给申请人） Binding confirmed by the owner",
        params=(),
        subject_zh="车辆绑定成功",
        subject_en="Vehicle bound",
        body_zh="车主已确认，车辆已绑定到您的交管账户，可在“我的车辆”中查看。",
        body_en="The owner has confirmed: the vehicle is now bound to your Jiaoguan account. "
                "See it under My vehicles.",
    ),
    DefaultTemplate(
        code="binding.ended",
        description="车辆已解除绑定 Binding ended",
        params=("plate",),
        subject_zh="车辆已解除绑定",
        subject_en="Vehicle unbound",
        body_zh="机动车{plate}已与您的交管账户解除绑定。如非本人操作，请联系交管部门。",
        body_en="Vehicle {plate} is no longer bound to your Jiaoguan account. If you did not expect this, "
                "contact the traffic police.",
    ),
    DefaultTemplate(
        code="binding.owner_confirmed",
        description="告知车主：他人已绑定其车辆 Tell the owner someone bound their vehicle",
        params=("plate",),
        subject_zh="您的车辆已被他人绑定",
        subject_en="Your vehicle was bound by another user",
        body_zh="您名下的机动车{plate}已由您授权的用户绑定，对方可查询该车辆信息和绑定之后的交通违法。"
                "如非您本人同意，请联系交管部门。",
        body_en="Vehicle {plate}, registered in your name, has been bound by the user you authorised; they can see "
                "its records and violations after the binding date. If you did not agree, contact the traffic police.",
    ),
    DefaultTemplate(
        code="binding.owner_ended",
        description="告知车主：他人已解除绑定 Tell the owner a binding ended",
        params=("plate",),
        subject_zh="他人已解除绑定您的车辆",
        subject_en="A user unbound your vehicle",
        body_zh="您名下的机动车{plate}已与另一用户解除绑定。",
        body_en="Vehicle {plate}, registered in your name, is no longer bound to another user's account.",
    ),
    DefaultTemplate(
        code="points.full_score",
        description="驾驶证记满12分 Full score reached",
        params=("points",),
        subject_zh="驾驶证记分已满",
        subject_en="Full score reached on your licence",
        body_zh="您的驾驶证本记分周期累积记分已达{points}分，驾驶证已暂扣。请参加交通安全法律法规学习并考试合格后恢复驾驶资格。",
        body_en="Your driving licence has reached {points} points in this scoring cycle and is suspended. Attend the "
                "road-safety study and pass the test to drive again.",
    ),
    DefaultTemplate(
        code="points.probation_full_score",
        description="实习期内记满12分，驾驶证注销 Full score during probation: licence cancelled",
        params=("points",),
        subject_zh="实习期内记满12分",
        subject_en="Full score during probation",
        body_zh="您的驾驶证在实习期内本记分周期累积记分已达{points}分，依据《机动车驾驶证申领和使用规定》第七十七条，"
                "实习的准驾车型驾驶资格已注销，须重新申领驾驶证。",
        body_en="Your driving licence reached {points} points in the scoring cycle during probation; under article 77 "
                "of the driving-licence provisions the licence for the class in probation is cancelled, and a new "
                "licence must be applied for.",
    ),
    DefaultTemplate(
        code="licence.probation_class_cancelled",
        description="实习的准驾车型驾驶资格注销（实习期内记满12分，或延长的实习期内再记6分以上） "
                    "The class in probation cancelled (12 points in probation, or 6+ again in the extended year)",
        params=("points", "classes"),
        subject_zh="实习准驾车型驾驶资格注销",
        subject_en="Class in probation cancelled",
        body_zh="您的驾驶证在实习期内记{points}分，依据《机动车驾驶证申领和使用规定》第七十七条，实习的{classes}准驾车型"
                "驾驶资格已注销；驾驶证上其他准驾车型不受影响（记满12分的，另行暂扣并须参加满分学习）。",
        body_en="Your licence had {points} points during probation; under article 77 of the driving-licence provisions "
                "the class in probation ({classes}) is cancelled. The licence's other classes stand (at 12 points "
                "the licence is also suspended until the full-score study is done).",
    ),
    DefaultTemplate(
        code="licence.probation_extended",
        description="实习期延长一年（A、B类，实习期内记6分以上） Probation extended by a year (A/B classes, 6+ points)",
        params=("points", "date"),
        subject_zh="实习期延长一年",
        subject_en="Probation extended by a year",
        body_zh="您的驾驶证实习期内记{points}分（6分以上未满12分），依据《机动车驾驶证申领和使用规定》第七十七条，"
                "实习期延长一年，至{date}。",
        body_en="Your licence had {points} points during probation (6 to 11); under article 77 of the driving-licence "
                "provisions the probation is extended by a year, to {date}.",
    ),
    DefaultTemplate(
        code="account.welcome",
        description="注册成功欢迎消息 Welcome after registration",
        params=(),
        subject_zh="欢迎使用交管服务",
        subject_en="Welcome to Jiaoguan",
        body_zh="您已完成实名注册，欢迎使用交管网上服务。您可以查询驾驶证和机动车信息、绑定车辆并办理业务。",
        body_en="Your real-name registration is complete. Welcome to Jiaoguan online services: view your "
                "driving licence and vehicles, bind vehicles and handle your business online.",
    ),
    DefaultTemplate(
        code="account.locked",
        description="账户因多次登录失败被锁定 Account locked after failed logins",
        params=("minutes",),
        subject_zh="账户已临时锁定",
        subject_en="Account locked",
        body_zh="您的交管账户因多次登录失败已被锁定{minutes}分钟。如非本人操作，请在解锁后通过“忘记密码”重置密码。",
        body_en="Your Jiaoguan account is locked for {minutes} minutes after repeated failed logins. If this was "
                "not you, reset your password with \"Forgot password\" once it is unlocked.",
    ),
    DefaultTemplate(
        code="password.changed",
        description="密码已修改 Password changed",
        params=(),
        subject_zh="密码已修改",
        subject_en="Password changed",
        body_zh="您的交管账户密码已修改。如非本人操作，请立即通过“忘记密码”重置密码或联系交管部门。",
        body_en="Your Jiaoguan password has been changed. If this was not you, reset it now with "
                "\"Forgot password\" or contact the traffic police.",
    ),
    DefaultTemplate(
        code="account.address_changed",
        description="联系地址已变更（发给预留手机号和站内信） Contact address changed (to the phone on file and the inbox)",
        params=(),
        subject_zh="联系地址已变更",
        subject_en="Contact address changed",
        body_zh="您在交管部门登记的联系地址已在网上变更，今后证件将邮寄至新地址。如非本人操作，请立即修改密码并联系交管部门。",
        body_en="Your contact address on file with the traffic police was changed online; documents will be posted "
                "to the new address. If this was not you, change your password and contact the traffic police at once.",
    ),
    DefaultTemplate(
        code="account.phone_changed",
        description="账户手机号已更换（发给原手机号和站内信） Account phone changed (to the old phone and the inbox)",
        params=("phone",),
        subject_zh="账户手机号已更换",
        subject_en="Account phone changed",
        body_zh="您的交管账户手机号已更换为{phone}，原手机号不能再用于登录。如非本人操作，请立即联系交管部门。",
        body_en="The phone number of your Jiaoguan account has been changed to {phone}; the old number can no "
                "longer be used to log in. If this was not you, contact the traffic police at once.",
    ),
    DefaultTemplate(
        code="otp.phone_file",
        description="变更预留手机号验证码（发给新手机号） Code to change the phone on file (sent to the new phone)",
        params=_OTP,
        secret=("code",),
        subject_zh="变更预留手机号验证码",
        subject_en="Code to change the phone on file",
        body_zh="验证码：{code}，您正在将交管部门档案的预留手机号变更为本号码，{minutes}分钟内有效。请勿将验证码告诉他人；"
                "如非本人操作，请忽略本短信。",
        body_en="Code {code}: you are changing the phone on file with the traffic police to this number. Valid for "
                "{minutes} minutes. Never share this code; if this was not you, ignore this message.",
    ),
    DefaultTemplate(
        code="account.phone_file_requested",
        description="预留手机号变更已受理（站内信） Change of the phone on file accepted (inbox)",
        params=("phone", "effective"),
        subject_zh="预留手机号变更已受理",
        subject_en="Change of the phone on file accepted",
        body_zh="您申请将预留手机号变更为{phone}，冷静期满后于{effective}生效；生效前原号码仍为预留手机号。"
                "生效前可在“预留手机号变更”页面撤销。",
        body_en="You asked to change the phone on file to {phone}. It takes effect at {effective}, after the "
                "cooling-off period; until then the old number stays on file. You can withdraw it before then on "
                "the \"Phone on file\" page.",
    ),
    DefaultTemplate(
        code="account.phone_file_objection",
        description="预留手机号将变更，附撤销码（发给原预留手机号） The phone on file is about to change, with the "
                    "objection code (to the old phone on file)",
        params=("phone", "effective", "code"),
        secret=("code",),
        subject_zh="预留手机号即将变更",
        subject_en="Your phone on file is about to change",
        body_zh="您在交管部门的预留手机号将于{effective}变更为{phone}。如非本人操作，请在此之前打开交管平台登录页的"
                "“撤销变更”链接（无需登录），输入撤销码{code}；或携身份证到车管所窗口办理。",
        body_en="Your phone on file with the traffic police will change to {phone} at {effective}. If this was not "
                "you, before then follow the \"Stop it\" link on the Jiaoguan login page (no login needed) and enter "
                "the code {code}, or bring your ID card to a vehicle office window.",
    ),
    DefaultTemplate(
        code="account.phone_file_cancelled",
        description="预留手机号变更已由本人撤销 Change of the phone on file withdrawn by the holder",
        params=("phone",),
        subject_zh="预留手机号变更已撤销",
        subject_en="Change of the phone on file withdrawn",
        body_zh="将预留手机号变更为{phone}的申请已由本人撤销，预留手机号不变。",
        body_en="The request to change the phone on file to {phone} was withdrawn by the holder; the phone on file "
                "stays as it was.",
    ),
    DefaultTemplate(
        code="account.phone_file_objected",
        description="预留手机号变更已由原号码撤销 Change of the phone on file stopped from the old number",
        params=("phone",),
        subject_zh="预留手机号变更已被原号码撤销",
        subject_en="Change of the phone on file stopped",
        body_zh="将预留手机号变更为{phone}的申请已通过原预留手机号收到的撤销码撤销，预留手机号不变。"
                "如需变更，请携身份证到车管所窗口办理。账户可能已被他人使用的，请立即修改登录密码或到窗口办理。",
        body_en="The request to change the phone on file to {phone} was stopped with the code sent to the old "
                "phone on file; the phone on file stays as it was. To change it, bring your ID card to a vehicle "
                "office window. If someone else may be using the account, change its password at once or go to a "
                "window.",
    ),
    DefaultTemplate(
        code="account.phone_file_lapsed",
        description="预留手机号变更未生效（情况已变化） Change of the phone on file not applied (circumstances changed)",
        params=("phone",),
        subject_zh="预留手机号变更未生效",
        subject_en="Change of the phone on file not applied",
        body_zh="将预留手机号变更为{phone}的申请未能生效：冷静期内预留手机号已在窗口变更、申请账户已停用，"
                "或该号码已被其他账户使用。如仍需变更，请重新申请。",
        body_en="The request to change the phone on file to {phone} was not applied: during the cooling-off period "
                "the phone on file was changed at a window, the account was closed, or another account now uses "
                "that number. Apply again if you still need the change.",
    ),
    DefaultTemplate(
        code="account.phone_file_applied",
        description="预留手机号已变更（发给新旧号码和站内信） Phone on file changed (to both numbers and the inbox)",
        params=("phone",),
        subject_zh="预留手机号已变更",
        subject_en="Phone on file changed",
        body_zh="您在交管部门的预留手机号和交管账户手机号已变更为{phone}，请用新号码登录。如非本人操作，请立即携身份证到车管所窗口办理。",
        body_en="Your phone on file with the traffic police and your Jiaoguan account's phone are now {phone}; log "
                "in with the new number. If this was not you, bring your ID card to a vehicle office window at once.",
    ),
    DefaultTemplate(
        code="licence.expiring",
        description="驾驶证即将到期 Driving licence expiring",
        params=("date",),
        subject_zh="驾驶证即将到期",
        subject_en="Driving licence expiring",
        body_zh="您的机动车驾驶证将于{date}有效期满，请在期满前90日内申请换领。",
        body_en="Your driving licence expires on {date}. Apply to renew it within the 90 days before it expires.",
    ),
    DefaultTemplate(
        code="inspection.due",
        description="机动车检验到期 Vehicle inspection due",
        params=("plate", "date"),
        subject_zh="机动车检验提醒",
        subject_en="Vehicle inspection due",
        body_zh="您的机动车{plate}应于{date}前完成检验，请及时预约检验。",
        body_en="Your vehicle {plate} must be inspected by {date}. Please book an inspection in time.",
    ),
    DefaultTemplate(
        code="inspection.mark_issued",
        description="检验标志已自动核发 Inspection mark issued automatically",
        params=("plate", "until", "posted_zh", "posted_en"),
        subject_zh="检验标志已核发",
        subject_en="Inspection mark issued",
        body_zh="您的机动车{plate}处于免检期，电子检验标志已核发，检验有效期至{until}{posted_zh}。",
        body_en="Your vehicle {plate} is in an exempt year: its electronic inspection mark has been issued, valid "
                "until {until}{posted_en}.",
    ),
    DefaultTemplate(
        code="booking.confirmed",
        description="预约成功 Booking confirmed",
        params=("what_zh", "what_en", "when", "reference"),
        subject_zh="预约成功",
        subject_en="Booking confirmed",
        body_zh="您已成功预约{what_zh}，时间{when}，预约号{reference}。如需取消，请在截止时间前办理。",
        body_en="Your booking for {what_en} at {when} is confirmed, reference {reference}. "
                "Cancel before the deadline if you cannot come.",
    ),
    DefaultTemplate(
        code="booking.cancelled",
        description="预约已取消 Booking cancelled",
        params=("what_zh", "what_en", "when", "reference"),
        subject_zh="预约已取消",
        subject_en="Booking cancelled",
        body_zh="您预约的{what_zh}（{when}，预约号{reference}）已取消。",
        body_en="Your booking for {what_en} at {when} (reference {reference}) has been cancelled.",
    ),
    DefaultTemplate(
        code="booking.allocated",
        description="排序分配成功 Ranked allocation: seat given",
        params=("what_zh", "what_en", "when", "reference", "rank"),
        subject_zh="预约成功",
        subject_en="Booking successful",
        body_zh="您预约的{what_zh}（{when}）已分配成功，排序第{rank}位，预约号{reference}。",
        body_en="You have a seat for {what_en} at {when}: ranked {rank}, reference {reference}.",
    ),
    DefaultTemplate(
        code="booking.unsuccessful",
        description="排序分配未成功 Ranked allocation: no seat",
        params=("what_zh", "what_en", "when", "rank", "seats"),
        subject_zh="预约未成功",
        subject_en="Booking unsuccessful",
        body_zh="您预约的{what_zh}（{when}）未分配成功：您排序第{rank}位，名额{seats}个。请预约其他场次。",
        body_en="No seat for {what_en} at {when}: you ranked {rank} for {seats} seats. Please book another session.",
    ),
    DefaultTemplate(
        code="booking.offer",
        description="候补有空位 A waiting-list seat is offered",
        params=("what_zh", "what_en", "when", "until"),
        subject_zh="候补名额待确认",
        subject_en="A seat is waiting for you",
        body_zh="{what_zh}（{when}）有空余名额为您保留，请在{until}前登录确认，逾期自动放弃。",
        body_en="A seat for {what_en} at {when} is held for you. Confirm it by {until} or it passes on.",
    ),
    DefaultTemplate(
        code="booking.penalty",
        description="预约资格受限 Booking eligibility lost",
        params=("reason_zh", "reason_en", "until"),
        subject_zh="预约资格受限",
        subject_en="Booking restricted",
        body_zh="因{reason_zh}，您在{until}前不能预约此项业务。",
        body_en="Because of {reason_en}, you cannot book this service until {until}.",
    ),
    # --- applications (the one acceptance → review → approval workflow) ---
    DefaultTemplate(
        code="application.submitted",
        description="办事申请已提交 Application submitted",
        params=("service_zh", "service_en", "reference"),
        subject_zh="申请已提交",
        subject_en="Application submitted",
        body_zh="您的{service_zh}申请已提交，申请编号{reference}，请等待受理。",
        body_en="Your {service_en} application has been submitted, number {reference}. It is waiting for acceptance.",
    ),
    DefaultTemplate(
        code="application.release_ready",
        description="放车还证已批准，请预约领取 Detained vehicle or licence released: book a visit to collect it",
        params=("service_zh", "service_en", "reference", "item_zh", "item_en"),
        subject_zh="放车还证已批准",
        subject_en="Release approved",
        body_zh="您的{service_zh}申请（编号{reference}）已批准，扣留已解除。请在“窗口预约”中预约后，携带身份证和扣留凭证领取{item_zh}。",
        body_en="Your {service_en} application ({reference}) is approved and the detention is lifted. Book a counter visit "
                "under Counter appointments, then collect the {item_en} with your ID card and the detention notice.",
    ),
    DefaultTemplate(
        code="application.pickup_ready",
        description="证件已制好，请预约到窗口领取 Document ready: book a counter visit to collect it",
        params=("service_zh", "service_en", "reference", "item_zh", "item_en"),
        subject_zh="证件待领取",
        subject_en="Ready for collection",
        body_zh="您的{service_zh}申请（编号{reference}）已批准，{item_zh}已制好。请在“窗口预约”中预约后，携带身份证到车管所窗口领取。",
        body_en="Your {service_en} application ({reference}) is approved and the {item_en} is ready. Book a counter visit "
                "under Counter appointments, then collect it at the vehicle office with your ID card.",
    ),
    DefaultTemplate(
        code="application.fee_due",
        description="办事申请待缴费 Application waiting for its fee",
        params=("service_zh", "service_en", "reference", "amount", "until"),
        subject_zh="申请待缴费",
        subject_en="Fee to pay",
        body_zh="您的{service_zh}申请（编号{reference}）已提交，请在{until}前缴纳规费{amount}元（我的缴费），缴费后进入受理；逾期未缴，申请自动关闭。",
        body_en="Your {service_en} application ({reference}) has been submitted. Pay its fee of ¥{amount} by {until} "
                "(My payments); it then goes to acceptance. Unpaid by then, the application closes.",
    ),
    DefaultTemplate(
        code="application.approved_fee_due",
        description="办事申请已批准待缴费 Application approved, fee due before the document is made",
        params=("service_zh", "service_en", "reference", "amount", "until"),
        subject_zh="申请已批准，请缴费",
        subject_en="Approved: fee to pay",
        body_zh="您的{service_zh}申请（编号{reference}）已批准，请在{until}前缴纳规费{amount}元（我的缴费），缴费后制发；逾期未缴，申请关闭。",
        body_en="Your {service_en} application ({reference}) is approved. Pay its fee of ¥{amount} by {until} (My "
                "payments) and the result is issued; unpaid by then, the application closes.",
    ),
    DefaultTemplate(
        code="application.lapsed",
        description="逾期未缴费申请关闭 Application closed, fee unpaid",
        params=("service_zh", "service_en", "reference"),
        subject_zh="申请已关闭",
        subject_en="Application closed",
        body_zh="您的{service_zh}申请（编号{reference}）因逾期未缴纳规费已关闭，如需办理请重新申请。",
        body_en="Your {service_en} application ({reference}) was closed because its fee was not paid in time. "
                "Apply again if you still need it.",
    ),
    DefaultTemplate(
        code="application.accepted",
        description="办事申请已受理 Application accepted",
        params=("service_zh", "service_en", "reference", "due"),
        subject_zh="申请已受理",
        subject_en="Application accepted",
        body_zh="您的{service_zh}申请（编号{reference}）已受理，承诺办结时间{due}。",
        body_en="Your {service_en} application ({reference}) has been accepted and will be decided by {due}.",
    ),
    DefaultTemplate(
        code="application.refused",
        description="办事申请不予受理 Application refused at acceptance",
        params=("service_zh", "service_en", "reference", "comment"),
        subject_zh="申请不予受理",
        subject_en="Application not accepted",
        body_zh="您的{service_zh}申请（编号{reference}）不予受理，原因：{comment}",
        body_en="Your {service_en} application ({reference}) was not accepted. Reason: {comment}",
    ),
    DefaultTemplate(
        code="application.returned",
        description="办事申请退回补正 Application sent back for correction",
        params=("service_zh", "service_en", "reference", "comment"),
        subject_zh="申请需要补正",
        subject_en="Application needs correction",
        body_zh="您的{service_zh}申请（编号{reference}）需要补正：{comment}。请登录修改后重新提交。",
        body_en="Your {service_en} application ({reference}) needs correction: {comment}. "
                "Please log in, correct it and submit it again.",
    ),
    DefaultTemplate(
        code="application.resubmitted",
        description="补正后已重新提交 Corrected application resubmitted",
        params=("service_zh", "service_en", "reference"),
        subject_zh="补正材料已提交",
        subject_en="Correction submitted",
        body_zh="您的{service_zh}申请（编号{reference}）已重新提交，办理继续进行。",
        body_en="Your corrected {service_en} application ({reference}) has been resubmitted and is being processed.",
    ),
    DefaultTemplate(
        code="application.approved",
        description="办事申请已批准 Application approved",
        params=("service_zh", "service_en", "reference"),
        subject_zh="申请已批准",
        subject_en="Application approved",
        body_zh="您的{service_zh}申请（编号{reference}）已批准，请登录查看办理结果。",
        body_en="Your {service_en} application ({reference}) has been approved. Log in to see the result.",
    ),
    DefaultTemplate(
        code="application.rejected",
        description="办事申请不予批准 Application not approved",
        params=("service_zh", "service_en", "reference", "comment"),
        subject_zh="申请未获批准",
        subject_en="Application not approved",
        body_zh="您的{service_zh}申请（编号{reference}）未获批准，原因：{comment}",
        body_en="Your {service_en} application ({reference}) was not approved. Reason: {comment}",
    ),
    DefaultTemplate(
        code="application.revoked",
        description="先批后审复核撤销 Approval revoked on review",
        params=("service_zh", "service_en", "reference", "comment"),
        subject_zh="批准已撤销",
        subject_en="Approval revoked",
        body_zh="您的{service_zh}申请（编号{reference}）经复核撤销批准，原因：{comment}",
        body_en="The approval of your {service_en} application ({reference}) was revoked on review. Reason: {comment}",
    ),
    DefaultTemplate(
        code="application.due_soon",
        description="办事时限将到（工作人员）Time limit ending soon (staff)",
        params=("count", "references"),
        subject_zh="办理时限即将届满",
        subject_en="Time limit ending soon",
        body_zh="您办理中的{count}件申请即将到期：{references}。请尽快办理。",
        body_en="{count} application(s) you are working on are nearly due: {references}. Please deal with them soon.",
    ),
    DefaultTemplate(
        code="application.overdue",
        description="办事超期督办（审批人员）Overdue applications escalated (approvers)",
        params=("count", "references"),
        subject_zh="超期申请督办",
        subject_en="Overdue applications",
        body_zh="有{count}件申请已超过办理时限：{references}。请督促办理。",
        body_en="{count} application(s) are past their time limit: {references}. Please see that they are dealt with.",
    ),
)


# --- violations and payments (the notices a 12123 user expects). No personal data in them: the plate, place,
# time, amounts and the decision number only, so the SMS text needs no masking. ---
_VIOLATION = ("plate", "when", "place", "what_zh", "what_en", "fine", "points")
TEMPLATES += (
    DefaultTemplate(
        code="violation.recorded",
        description="交通违法已记录（车主与绑定用户） Traffic violation recorded (owner and bound users)",
        params=_VIOLATION,
        subject_zh="交通违法记录提醒",
        subject_en="Traffic violation recorded",
        body_zh="机动车{plate}于{when}在{place}有一条交通违法记录：{what_zh}，罚款{fine}，记{points}分。"
                "请登录交管网上服务查看并处理。",
        body_en="Vehicle {plate} was recorded on {when} at {place}: {what_en}; fine {fine}, {points} point(s). "
                "Log in to Jiaoguan to see and handle it.",
    ),
    DefaultTemplate(
        code="violation.warned",
        description="首违警告，不罚款不记分（车主与绑定用户） First violation: a warning only (owner and bound users)",
        params=("plate", "when", "place", "what_zh", "what_en"),
        subject_zh="首违警告",
        subject_en="First violation: warning only",
        body_zh="机动车{plate}于{when}在{place}的交通违法（{what_zh}）符合首违免罚条件，予以警告，不罚款、不记分。"
                "请遵守交通法规，安全出行。",
        body_en="Vehicle {plate} was recorded on {when} at {place} ({what_en}). As a first violation it is a "
                "warning only: no fine and no points. Please drive safely.",
    ),
    DefaultTemplate(
        code="violation.waiver_withdrawn",
        description="首违免罚撤回：此前已有违法记录（车主与绑定用户） First-violation waiver withdrawn: an earlier "
                    "violation was recorded (owner and bound users)",
        params=("plate", "when", "place", "what_zh", "what_en", "earlier", "fine", "points"),
        subject_zh="首违免罚已撤回",
        subject_en="First-violation waiver withdrawn",
        body_zh="机动车{plate}于{when}在{place}的交通违法（{what_zh}）曾按首违免罚予以警告。因补录了该车在此之前"
                "（{earlier}）的交通违法记录，该违法不是首次违法，首违免罚已撤回，恢复为未处理：罚款{fine}，记{points}分。"
                "请登录交管网上服务查看并处理。",
        body_en="The violation of vehicle {plate} on {when} at {place} ({what_en}) was let off with a warning as a "
                "first violation. An earlier violation of the vehicle ({earlier}) has since been recorded, so it was "
                "not the first: the waiver is withdrawn and it is open again, fine {fine}, {points} point(s). "
                "Log in to Jiaoguan to see and handle it.",
    ),
    DefaultTemplate(
        code="decision.issued",
        description="处罚决定书已作出（驾驶证持有人） Penalty decision issued (licence holder)",
        params=("number", "plate", "what_zh", "what_en", "fine", "points", "due", "percent"),
        subject_zh="处罚决定已作出",
        subject_en="Penalty decision issued",
        body_zh="机动车{plate}的交通违法（{what_zh}）已处理，处罚决定书编号{number}：罚款{fine}，记{points}分。"
                "请于{due}前缴纳罚款，逾期每日按罚款数额的{percent}%加处罚款。",
        body_en="The violation of vehicle {plate} ({what_en}) has been dealt with, penalty decision {number}: "
                "fine {fine}, {points} point(s). Pay the fine by {due}; after that a late fee of {percent}% of "
                "the fine is added every day.",
    ),
    DefaultTemplate(
        code="decision.warning",
        description="处罚决定书：警告，无罚款（驾驶证持有人） Penalty decision: a warning, no fine (licence holder)",
        params=("number", "plate", "what_zh", "what_en", "points"),
        subject_zh="处罚决定已作出",
        subject_en="Penalty decision issued",
        body_zh="机动车{plate}的交通违法（{what_zh}）已处理，处罚决定书编号{number}：警告，记{points}分，无需缴纳罚款。",
        body_en="The violation of vehicle {plate} ({what_en}) has been dealt with, penalty decision {number}: "
                "a warning, {points} point(s), nothing to pay.",
    ),
    DefaultTemplate(
        code="payment.paid",
        description="缴费成功（缴款人） Payment received (payer)",
        params=("name_zh", "name_en", "amount", "reference"),
        subject_zh="缴费成功",
        subject_en="Payment received",
        body_zh="您已成功缴纳{name_zh}，金额{amount}，缴款编号{reference}。电子回单可在“我的缴费”中查看。",
        body_en="Your payment of {amount} for {name_en} has been received, payment number {reference}. "
                "The e-receipt is under My payments.",
    ),
    DefaultTemplate(
        code="payment.refunded",
        description="退款成功（缴款人） Refund completed (payer)",
        params=("amount", "order", "refund_no"),
        subject_zh="退款成功",
        subject_en="Refund completed",
        body_zh="您的缴费订单{order}有{amount}已原路退回（退款编号{refund_no}），到账时间以支付渠道为准。",
        body_en="{amount} of your payment order {order} has been refunded to where it came from (refund number "
                "{refund_no}); when it arrives depends on the payment channel.",
    ),
    DefaultTemplate(
        code="payment.late_fee",
        description="开始加处罚款（滞纳金）（缴款人） Late fee starts (payer)",
        params=("name_zh", "name_en", "reference", "since", "percent", "daily"),
        subject_zh="罚款逾期未缴，开始加处罚款",
        subject_en="Fine overdue: late fee started",
        body_zh="您的{name_zh}（缴款编号{reference}）逾期未缴，自{since}起每日按罚款数额的{percent}%加处罚款"
                "（每日{daily}），加处总额不超过罚款本身。请尽快缴纳。",
        body_en="Your {name_en} (payment number {reference}) is overdue: from {since} a late fee of {percent}% of "
                "the fine ({daily}) is added every day, up to the amount of the fine itself. Please pay soon.",
    ),
)

BY_CODE: dict[str, DefaultTemplate] = {t.code: t for t in TEMPLATES}
