"""A host adds guards, calendars and notifier types by name, in process or from an installed
package's entry point; one registry resolves all three, and a plugin that fails to load is
named wherever its names are asked for."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import textwrap
import tomllib
from datetime import date
from pathlib import Path

import pytest

import zhenggai
from zhenggai.engine.calendars import Calendar, CalendarRegistry, calendars
from zhenggai.engine.definition import builtin_path
from zhenggai.engine.durations import Duration
from zhenggai.engine.errors import InvalidInput
from zhenggai.engine.guards import GuardRegistry, guards
from zhenggai.engine.notifiers import (
    EmailNotifier,
    Notice,
    Notifier,
    OATodoNotifier,
    WebhookNotifier,
    configured_notifiers,
    notifier_types,
)
from zhenggai.engine.plugins import Registry

ROOT = Path(zhenggai.__file__).resolve().parent


def install(site: Path, module: str, body: str, entry_points: str) -> None:
    """A package installed the way pip installs one: a module and its entry point metadata
    (``entry_points`` is the text of entry_points.txt)."""
    site.mkdir(exist_ok=True)
    (site / f"{module}.py").write_text(textwrap.dedent(body), encoding="utf-8")
    info = site / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points), encoding="utf-8")


def run(code: str, site: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "ZHENGGAI_LANG": "en", **env}
    if site is not None:
        full["PYTHONPATH"] = str(site)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=full, capture_output=True, text=True, timeout=60
    )


# --- the registry itself ---------------------------------------------------------------


class Thing:
    name = "thing"


def test_a_registry_takes_things_by_their_own_name_bare_or_with_options() -> None:
    reg: Registry[type[Thing]] = Registry("thing", "zhenggai.tests.none")

    @reg.register
    class Bolt(Thing):
        name = "bolt"

    @reg.register(name="nut")
    class Nut(Thing):
        pass

    class Anchor(Thing):
        name = "anchor"

    assert reg.register(Anchor) is Anchor
    assert reg.names() == ["anchor", "bolt", "nut"]  # sorted
    assert [n for n, _ in reg.items()] == ["bolt", "nut", "anchor"]  # in the order registered
    assert "bolt" in reg and "screw" not in reg
    assert reg.get("nut") is Nut


def test_a_name_is_taken_once_unless_replaced_and_the_same_thing_again_changes_nothing() -> None:
    reg: Registry[type[Thing]] = Registry("thing", "zhenggai.tests.none")

    class Bolt(Thing):
        name = "bolt"

    class OtherBolt(Thing):
        name = "bolt"

    reg.register(Bolt)
    reg.register(Bolt)  # a built-in found once more through its entry point
    with pytest.raises(ValueError, match="thing 'bolt' is already registered"):
        reg.register(OtherBolt)
    reg.register(replace=True)(OtherBolt)
    assert reg.get("bolt") is OtherBolt
    with pytest.raises(ValueError, match="a thing needs a name"):
        reg.register(type("Nameless", (), {}))


def test_an_unknown_name_is_answered_with_the_names_that_are_known() -> None:
    reg: Registry[type[Thing]] = Registry("thing", "zhenggai.tests.none")
    reg.register(type("Bolt", (Thing,), {"name": "bolt"}))
    with pytest.raises(KeyError) as err:
        reg.get("screw")
    assert err.value.args[0] == "unknown thing 'screw'; known: bolt"
    with pytest.raises(KeyError, match=r"unknown calendar 'lunar'; known: .*cn_working_days.*natural"):
        calendars.get("lunar")


def test_entry_points_are_read_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, str]] = []
    real = importlib.metadata.entry_points

    def counting(**kw: str) -> importlib.metadata.EntryPoints:
        calls.append(kw)
        return real(**kw)

    monkeypatch.setattr(importlib.metadata, "entry_points", counting)
    reg: Registry[type[Thing]] = Registry("thing", "zhenggai.tests.none")
    assert "bolt" not in reg and "nut" not in reg
    reg.names()
    with pytest.raises(KeyError):
        reg.get("screw")
    assert calls == [{"group": "zhenggai.tests.none"}]


def test_entry_points_name_a_module_a_callable_or_a_class_and_a_broken_one_is_named_beside_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    install(
        site,
        "zg_reg_finance",
        '''
        from zhenggai import Calendar


        def approved(issue, ctx, params):
            """The finance office approved the budget."""
            return None


        def register(registry):
            registry.register("finance_approved", needs=["signoffs"])(approved)


        class FourDays(Calendar):
            name = "four_days"

            def is_working_day(self, day):
                return day.weekday() < 4, False


        class NotACalendar:
            name = "nothing"
        ''',
        """
        [zhenggai.guards]
        zg_reg_finance = zg_reg_finance:register

        [zhenggai.calendars]
        zg_four_days = zg_reg_finance:FourDays
        zg_wrong = zg_reg_finance:NotACalendar
        zg_missing = zg_reg_gone:Calendar
        """,
    )
    monkeypatch.syspath_prepend(str(site))

    reg = GuardRegistry()  # a fresh one: the process-wide registries have loaded theirs already
    assert "finance_approved" in reg  # the callable was given the guard registry
    assert reg.get("finance_approved").needs == frozenset({"signoffs"})

    cals = CalendarRegistry()
    cal = cals.get("four_days")  # the class itself was registered
    assert cals.get("four_days") is cal  # one instance, memoising its counts
    assert cal.add(date(2026, 6, 4), Duration(1, "working_days")).value == date(2026, 6, 8)  # Thursday -> Monday
    assert "nothing" not in cals
    assert "NotACalendar is a class; name a Calendar subclass" in cals.plugin_errors["zg_wrong"]
    assert "ModuleNotFoundError" in cals.plugin_errors["zg_missing"]
    with pytest.raises(KeyError) as err:
        cals.get("lunar")
    message = err.value.args[0]
    assert "four_days" in message
    assert "plugins that failed to load: " in message and "zg_wrong" in message and "zg_reg_gone" in message


# --- a calendar and a notifier type from installed packages ----------------------------------

BUREAU = '''
from zhenggai import Calendar, register_calendar


@register_calendar
class BureauDays(Calendar):
    """The bureau works Monday to Thursday."""

    name = "bureau_days"

    def is_working_day(self, day):
        return day.weekday() < 4, False
'''


def test_a_calendar_from_an_installed_package_is_found_by_its_entry_point(tmp_path: Path) -> None:
    site = tmp_path / "site"
    install(site, "zg_bureau", BUREAU, "[zhenggai.calendars]\nbureau = zg_bureau\n")
    install(site, "zg_broken_cal", "raise RuntimeError('no calendar office here')\n", "[zhenggai.calendars]\nzg_broken_cal = zg_broken_cal\n")  # fmt: skip
    text = builtin_path("rectification").read_text(encoding="utf-8")
    assert "calendar: cn_working_days" in text
    wf = tmp_path / "wf.yaml"
    wf.write_text(text.replace("calendar: cn_working_days", "calendar: bureau_days"), encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("calendar: cn_working_days", "calendar: county_days"), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(site), "ZHENGGAI_LANG": "en"}

    def validate(path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "zhenggai.cli", "workflow", "validate", str(path)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    ok = validate(wf, env)
    assert ok.returncode == 0, ok.stderr
    refused = validate(bad, env)
    assert refused.returncode == 2
    assert "unknown calendar county_days" in refused.stderr
    assert "bureau_days" in refused.stderr  # the plugin's calendar is among those known
    assert "zg_broken_cal" in refused.stderr and "no calendar office here" in refused.stderr
    counted = run(
        """
        from datetime import date
        from zhenggai.engine.calendars import calendars
        from zhenggai.engine.durations import Duration
        print(calendars.get("bureau_days").add(date(2026, 6, 4), Duration(1, "working_days")).value)
        """,
        site,
    )
    assert counted.stdout.strip() == "2026-06-08", counted.stderr  # Thursday, then Monday
    # without the package installed, the same workflow is refused
    plain = validate(wf, {**os.environ, "ZHENGGAI_LANG": "en"})
    assert plain.returncode == 2 and "unknown calendar bureau_days" in plain.stderr


WECOM = '''
from zhenggai import Notifier


class WeComNotifier(Notifier):
    """Notices as WeCom group messages."""

    name = "wecom"

    def __init__(self, url):
        self.url = url

    @classmethod
    def from_env(cls, env):
        url = env.get("ZHENGGAI_WECOM_URL")
        return cls(url) if url else None

    def send(self, notice):
        pass
'''


def test_a_notifier_type_from_an_installed_package_is_configured_from_the_environment(tmp_path: Path) -> None:
    site = tmp_path / "site"
    install(site, "zg_wecom", WECOM, "[zhenggai.notifiers]\nwecom = zg_wecom:WeComNotifier\n")
    install(site, "zg_broken_im", "raise ImportError('no messenger here')\n", "[zhenggai.notifiers]\nzg_broken_im = zg_broken_im:Messenger\n")  # fmt: skip
    code = """
        import json
        from zhenggai.engine.notifiers import configured_notifiers, notifier_types
        env = {
            "ZHENGGAI_WECOM_URL": "https://wecom.example/hook",
            "ZHENGGAI_SMTP_HOST": "mail.example",
            "ZHENGGAI_WEBHOOK_URL": "https://oa.example/hook",
            "ZHENGGAI_WEBHOOK_SECRET": "s3cret-s3cret-s3",
        }
        print(json.dumps({
            "configured": [n.name for n in configured_notifiers(env)],
            "unconfigured": [n.name for n in configured_notifiers({})],
            "types": notifier_types.names(),
            "errors": notifier_types.plugin_errors,
        }))
        """
    out = run(code, site)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["configured"] == ["webhook", "email", "wecom"]  # built-ins first, in their order
    assert got["unconfigured"] == []
    assert "wecom" in got["types"] and "log" in got["types"]
    assert "no messenger here" in got["errors"]["zg_broken_im"]
    without = json.loads(run(code).stdout)
    assert without["configured"] == ["webhook", "email"] and "wecom" not in without["types"]


def test_stale_metadata_leaves_the_built_ins_in_place(tmp_path: Path) -> None:
    """An old install's entry points may name modules that have moved; the built-ins are
    registered by the packages themselves, so they are all still there."""
    site = tmp_path / "site"
    install(
        site,
        "zg_stale",
        "",
        """
        [zhenggai.calendars]
        natural = zhenggai.engine.calendar:NaturalCalendar

        [zhenggai.notifiers]
        webhook = zhenggai.engine.notify_old:WebhookNotifier
        """,
    )
    out = run(
        """
        import json
        from zhenggai.engine.calendars import calendars
        from zhenggai.engine.notifiers import notifier_types
        print(json.dumps([calendars.names(), notifier_types.names(), sorted(calendars.plugin_errors)]))
        """,
        site,
    )
    assert out.returncode == 0, out.stderr
    cals, types, errors = json.loads(out.stdout)
    assert {"natural", "cn_working_days"} <= set(cals)
    assert {"log", "webhook", "oa_todo", "email"} <= set(types)
    assert errors == ["natural"]  # reported, and nothing else changed


def test_the_built_ins_are_declared_as_entry_points_naming_the_registered_objects() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["entry-points"]
    for group, registry, names in (
        ("zhenggai.calendars", calendars.types, ["natural", "cn_working_days"]),
        (
            "zhenggai.notifiers",
            notifier_types,
            [
                "log",
                "webhook",
                "oa_todo",
                "email",
                "dingtalk_robot",
                "dingtalk_todo",
                "wecom_robot",
                "wecom_app",
                "ecology_todo",
            ],
        ),
    ):
        eps = declared[group]
        assert list(eps) == names
        for name, value in eps.items():
            assert registry.get(name) is importlib.metadata.EntryPoint(name, value, group).load()
    [(_, value)] = declared["zhenggai.guards"].items()
    module = importlib.metadata.EntryPoint("builtin", value, "zhenggai.guards").load()
    shipped = {n for n in guards.names() if getattr(module, n, None) is guards.get(n).check}
    assert shipped == {
        "has_measures",
        "measures_complete",
        "measures_done",
        "evidence_attached",
        "signed_off",
        "four_eyes",
        "due_within_period",
        "closable_in_period",
        "long_term_mechanism",
    }


# --- notifier types and their settings --------------------------------------------------------


def test_each_notifier_type_reads_its_own_settings_from_the_environment() -> None:
    assert configured_notifiers({}) == []
    assert configured_notifiers({"ZHENGGAI_WEBHOOK_URL": "", "ZHENGGAI_SMTP_HOST": ""}) == []
    secret = "s3cret-s3cret-s3"
    webhook, todo, mail = configured_notifiers(
        {
            "ZHENGGAI_SMTP_HOST": "mail.example",
            "ZHENGGAI_OA_TODO_URL": "https://oa.example/todo",
            "ZHENGGAI_OA_TODO_SECRET": secret,
            "ZHENGGAI_WEBHOOK_URL": "https://oa.example/hook",
            "ZHENGGAI_WEBHOOK_SECRET": secret,
        }
    )
    assert type(webhook) is WebhookNotifier and webhook.url == "https://oa.example/hook"
    assert webhook.secret == secret.encode()
    assert type(todo) is OATodoNotifier and todo.url == "https://oa.example/todo"
    assert type(mail) is EmailNotifier
    assert (mail.host, mail.port, mail.sender, mail.addresses) == ("mail.example", 25, "zhenggai@localhost", {})
    mail = EmailNotifier.from_env(
        {
            "ZHENGGAI_SMTP_HOST": "mail.example",
            "ZHENGGAI_SMTP_PORT": "2525",
            "ZHENGGAI_SMTP_FROM": "zhenggai@oa.example",
            "ZHENGGAI_EMAIL_ADDRESSES": '{"li": "li@oa.example"}',
        }
    )
    assert mail is not None and (mail.port, mail.sender, mail.addresses) == (2525, "zhenggai@oa.example", {"li": "li@oa.example"})  # fmt: skip


@pytest.mark.parametrize(
    ("env", "field", "en"),
    [
        (
            {"ZHENGGAI_WEBHOOK_URL": "https://oa.example/hook", "ZHENGGAI_WEBHOOK_SECRET": "short"},
            "ZHENGGAI_WEBHOOK_SECRET",
            "ZHENGGAI_WEBHOOK_SECRET must have at least 16 characters (receivers verify with it)",
        ),
        (
            {"ZHENGGAI_OA_TODO_URL": "https://oa.example/todo"},
            "ZHENGGAI_OA_TODO_SECRET",
            "ZHENGGAI_OA_TODO_SECRET must have at least 16 characters (receivers verify with it)",
        ),
        (
            {"ZHENGGAI_SMTP_HOST": "mail.example", "ZHENGGAI_EMAIL_ADDRESSES": "{li: nowhere"},
            "ZHENGGAI_EMAIL_ADDRESSES",
            "the e-mail settings are wrong: Expecting property name enclosed in double quotes",
        ),
        (
            {"ZHENGGAI_SMTP_HOST": "mail.example", "ZHENGGAI_SMTP_PORT": "smtp"},
            "ZHENGGAI_EMAIL_ADDRESSES",
            "the e-mail settings are wrong: invalid literal for int()",
        ),
    ],
)
def test_wrong_notifier_settings_are_refused_naming_the_variable(env: dict[str, str], field: str, en: str) -> None:
    with pytest.raises(InvalidInput) as err:
        configured_notifiers(env)
    assert err.value.details == {"field": field}
    assert err.value.text.en.startswith(en)
    assert err.value.text.zh.startswith(field) or err.value.text.zh.startswith("邮件配置有误")
    assert err.value.exit_code == 2


def test_the_package_offers_the_base_types_and_register_functions_without_importing_the_engine() -> None:
    out = run(
        """
        import sys
        import zhenggai
        before = sorted(m for m in sys.modules if m.startswith("zhenggai.engine"))
        from zhenggai import Calendar, Notice, Notifier, register_calendar, register_guard, register_notifier
        from zhenggai.engine.calendars.base import Calendar as C, register_calendar as rc
        from zhenggai.engine.notifiers.base import Notice as N, Notifier as T, register_notifier as rn
        from zhenggai.engine.guards.base import register_guard as rg
        print(before, (Calendar, Notice, Notifier, register_calendar, register_guard, register_notifier) == (C, N, T, rc, rg, rn))
        """
    )
    assert out.stdout.split() == ["[]", "True"], out.stderr
    assert {"Calendar", "Notice", "Notifier", "register_calendar", "register_notifier"} <= set(zhenggai.__all__)


@pytest.fixture
def scratch(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a test registers in the process-wide registries is gone after it."""
    for reg in (calendars.types, notifier_types):
        monkeypatch.setattr(reg, "_things", dict(reg._things))


def test_a_host_adds_a_calendar_and_a_notifier_type_in_process(scratch: None) -> None:
    @zhenggai.register_calendar(replace=True)
    class SixDays(Calendar):
        name = "six_days"

        def is_working_day(self, day: date) -> tuple[bool, bool]:
            return day.weekday() < 6, False

    @zhenggai.register_notifier(replace=True)
    class Pager(Notifier):
        name = "pager"

        def send(self, notice: Notice) -> None:
            pass

    assert calendars.get("six_days").add(date(2026, 6, 5), Duration(1, "working_days")).value == date(2026, 6, 6)
    assert notifier_types.get("pager") is Pager
    assert Pager.from_env({"ZHENGGAI_PAGER": "on"}) is None  # configured in code only
    assert configured_notifiers({}) == []
