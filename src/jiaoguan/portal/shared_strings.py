"""Strings of the shared layout (core/templates/base.html, core/templates/core/error.html) that the portal and
the console show on every page: marked here so `makemessages` puts them in the portal's catalogue and the
English pages have an English frame. Django merges every app's catalogue, so one translation serves all."""
from django.utils.translation import gettext_noop

SHARED = [
    gettext_noop("交管服务平台"),
    gettext_noop("交管"),
    gettext_noop("跳到正文"),
    gettext_noop("主导航"),
    gettext_noop("让数据多跑路，让群众少跑腿"),
    gettext_noop("无法完成"),
    gettext_noop("无法完成您的请求"),
    gettext_noop("返回"),
    gettext_noop("回到首页"),
    gettext_noop("简体中文"),
]
