"""The shutdown's hold on commands, buttons and menus (bot.tree) rests on hooks discord.py
calls but does not document: CommandTree._call for every command and autocomplete, an
item's interaction_check in the task that then runs its callback. A discord.py that no
longer calls them would let commands run against a closed archive at every shutdown, with
nothing failing loudly: this says so here first."""

from __future__ import annotations

import inspect

from discord import app_commands
from discord.ui import DynamicItem
from discord.ui import view as ui_view

import bot.client  # noqa: F401  (every cog and view loaded)
from bot.cogs.subscriptions import RemoveSubscription, TurnSubscriptionsPage
from bot.tree import Admitted, ChronicleTree
from bot.views import EventButton, OpenEvent, PageTurn


def test_discord_py_dispatches_every_command_through_the_overridden_call() -> None:
    assert "_call" in vars(app_commands.CommandTree), "discord.py renamed CommandTree._call"
    dispatch = inspect.getsource(app_commands.CommandTree._from_interaction)
    assert "self._call(interaction)" in dispatch, dispatch
    assert ChronicleTree._call is not app_commands.CommandTree._call


def test_discord_py_checks_a_component_in_the_task_that_runs_its_callback() -> None:
    dynamic = inspect.getsource(ui_view.ViewStore.schedule_dynamic_item_call)
    assert dynamic.index("interaction_check(interaction)") < dynamic.index(
        "item.callback(interaction)"
    ), dynamic
    stored = inspect.getsource(ui_view.View._scheduled_task)
    assert stored.index("_run_checks(interaction)") < stored.index("callback(interaction)"), stored


def _subclasses(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    return found.union(*(_subclasses(sub) for sub in found))


def test_every_button_and_menu_of_the_bot_is_admitted_by_the_tree() -> None:
    ours = {c for c in _subclasses(DynamicItem) if c.__module__.startswith("bot.")}
    assert {EventButton, OpenEvent, PageTurn, RemoveSubscription, TurnSubscriptionsPage} <= ours
    for item in ours:
        assert item.interaction_check is Admitted.interaction_check, item
