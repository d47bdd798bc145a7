"""The service catalogue shown on the portal's home page, as data (DOMAIN §1).

The categories are 12123's ten (驾考和车检预约 · 办牌办证 · 违法处理和罚款缴纳 · 出行信息 · 信息查询 · 告知提示 ·
信息公开 · 重点对象管理 · 交通安全宣传 · 业务咨询). Each service names itself in Chinese and English and says
whether it can be used now; an available one points at a portal page by URL name, a service still to come is
shown as "即将上线 Coming soon" and never as a link. When a capability lands, flip ``available`` and set
``url_name``: ``catalogue_check()`` (run by the tests) refuses an available service without a working page.

The applications app will later own a catalogue a city edits; until then this module is the single list.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from django.urls import NoReverseMatch, reverse

from jiaoguan.core.i18n import Bi, bi


@dataclass(frozen=True)
class Service:
    code: str
    zh: str
    en: str
    available: bool = False
    url_name: str | None = None  # a portal URL name
    anchor: str = ""  # fragment inside that page, e.g. "vehicles"
    needs_login: bool = True
    url_args: tuple[str, ...] = ()  # e.g. the applications catalogue's service code for its guide page

    @property
    def name(self) -> Bi:
        return bi(self.zh, self.en)

    @property
    def url(self) -> str | None:
        if not (self.available and self.url_name):
            return None
        url = reverse(self.url_name, args=self.url_args)
        return f"{url}#{self.anchor}" if self.anchor else url


@dataclass(frozen=True)
class Category:
    code: str
    zh: str
    en: str
    services: tuple[Service, ...] = field(default_factory=tuple)

    @property
    def name(self) -> Bi:
        return bi(self.zh, self.en)

    @property
    def available_count(self) -> int:
        return sum(1 for s in self.services if s.available)


S = Service
GUIDE = "portal:applications_portal:guide"  # a service of the applications catalogue: its guide page
CATALOGUE: tuple[Category, ...] = (
    Category("query", "信息查询", "Look-ups", (
        S("my_licence", "我的驾驶证", "My driving licence", True, "portal:me", "licence"),
        S("my_vehicles", "我的机动车", "My vehicles", True, "portal:me", "vehicles"),
        S("bind_vehicle", "绑定他人机动车", "Bind a family member's vehicle", True, "portal:bind"),
        S("violation_query", "交通违法查询", "Traffic violations", True, "portal:violations_portal:list"),
        S("licence_info_sheet", "驾驶人信息单", "Driver information sheet"),
        S("vehicle_info_sheet", "机动车信息单", "Vehicle information sheet"),
    )),
    Category("notice", "告知提示", "Reminders", (
        S("my_messages", "我的消息", "My messages", True, "portal:messages"),
        S("licence_expiry_reminder", "驾驶证到期提醒", "Licence expiry reminders"),
        S("inspection_reminder", "机动车检验提醒", "Inspection reminders"),
    )),
    Category("booking", "驾考和车检预约", "Test and inspection bookings", (
        S("exam_booking", "考试预约", "Driving test booking", True, "portal:exams_portal:home"),
        S("inspection_booking", "机动车检验预约", "Vehicle inspection booking", True, "portal:inspections_portal:home"),
        S("east_booking", "东部预约通行", "Eastern scenic area entry booking", True, "portal:eastern_portal:home"),
        S("counter_appointment", "窗口业务预约", "Book a counter appointment", True, "portal:counters_portal:home"),
        S("my_bookings", "我的预约", "My bookings", True, "portal:bookings_portal:list"),
    )),
    Category("licences", "办牌办证", "Plates and licences", (
        S("licence_renewal", "驾驶证期满换证", "Licence renewal", True, GUIDE, url_args=("licence_renewal",)),
        S("licence_replacement", "驾驶证补领换领", "Licence replacement", True, GUIDE, url_args=("licence_renewal",)),
        S("truck_pass", "货车通行证", "Truck pass permit", True, GUIDE, url_args=("truck_pass",)),
        S("nonlocal_pass", "外地车每月1天通行证", "Non-local car monthly pass", True, GUIDE, url_args=("nonlocal_pass",)),
        S("parking_licence", "经营性停车场开办、变更、注销", "Operating parking-lot licence", True, GUIDE,
          url_args=("parking_licence",)),
        S("relief_fund", "道路交通事故社会救助基金申请", "Road accident social relief fund", True, GUIDE,
          url_args=("relief_fund",)),
        S("my_applications", "我的申请", "My applications", True, "portal:applications_portal:mine"),
        S("plate_selection", "网上选号", "Choose a plate number online", True, "portal:plates_portal:index"),
        S("inspection_mark", "免检车辆检验标志申领", "Inspection mark for exempt vehicles", True,
          "portal:inspections_portal:home"),
        S("e_licence", "电子驾驶证", "Electronic driving licence"),
    )),
    Category("violations", "违法处理和罚款缴纳", "Violations and fines", (
        S("violation_handling", "违法处理", "Handle a violation", True, "portal:violations_portal:list"),
        S("fine_payment", "罚款缴纳", "Pay a fine", True, "portal:payments"),
        S("study_for_points", "学法减分", "Study to reduce points"),
        S("cloned_plate", "我被套牌", "Report a cloned plate", True, "portal:violations_portal:dispute_new"),
    )),
    Category("travel", "出行信息", "Travel information", (
        S("road_conditions", "路况信息", "Road conditions"),
        S("restrictions", "限行规定", "Driving restrictions"),
        S("move_car", "一键挪车", "Ask a driver to move their car"),
    )),
    Category("public", "信息公开", "Public information", (
        S("guides", "办事指南", "Service guides", True, "portal:applications_portal:index"),
        S("announcements", "执法公告", "Enforcement notices"),
    )),
    Category("key_subjects", "重点对象管理", "Key vehicles and drivers", (
        S("enterprise", "企业用户服务", "Services for companies", True, "portal:applications_portal:index"),
        S("school_bus", "校车及重点车辆", "School buses and key vehicles"),
    )),
    Category("education", "交通安全宣传", "Road safety education", (
        S("micro_class", "微课堂", "Online road safety classes"),
        S("safety_news", "安全提示", "Safety tips"),
    )),
    Category("consult", "业务咨询", "Enquiries", (
        S("online_consult", "在线咨询", "Ask online"),
        S("hotline", "12123 语音服务", "12123 voice line"),
    )),
)
del S


def services() -> list[Service]:
    return [s for c in CATALOGUE for s in c.services]


def catalogue_check() -> list[str]:
    """Problems in the catalogue: duplicate codes, available services without a page, dead links."""
    problems: list[str] = []
    seen: set[str] = set()
    for category in CATALOGUE:
        for service in category.services:
            if service.code in seen:
                problems.append(f"duplicate service code {service.code}")
            seen.add(service.code)
            if not service.zh or not service.en:
                problems.append(f"{service.code}: needs a Chinese and an English name")
            if service.available:
                if not service.url_name:
                    problems.append(f"{service.code}: available but has no page")
                    continue
                try:
                    reverse(service.url_name, args=service.url_args)
                except NoReverseMatch:
                    problems.append(f"{service.code}: page {service.url_name} does not exist")
    return problems
