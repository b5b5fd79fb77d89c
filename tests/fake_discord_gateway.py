"""Interactions and the gateway of the loopback Discord: a mixin of FakeDiscord (fake_discord.py), which
holds the state; tests push INTERACTION_CREATE events and watch the bot answer them.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiohttp import WSMsgType, web
from fake_discord_model import (
    ALL_PERMISSIONS,
    PRIVILEGED_INTENTS,
    Channel,
    GatewaySession,
    InteractionRecord,
    Posted,
    User,
    role_payload,
    snowflake,
)


class InteractionsAndGateway:
    """Pushing interactions and waiting for their answers; the gateway websocket discord.py connects to."""

    # -- interactions -----------------------------------------------------------------------

    def command_id(self, name: str, guild_id: str | None = None) -> tuple[str, str | None]:
        """The id Discord gave a synced command (guild commands first); KeyError if never synced."""
        if guild_id is not None:
            for command in self.guild_commands.get(guild_id, []):
                if command["name"] == name:
                    return command["id"], guild_id
        for command in self.global_commands:
            if command["name"] == name:
                return command["id"], None
        raise KeyError(f"command {name!r} was never synced")

    def registered(self, name: str, guild_id: str | None = None) -> dict[str, Any]:
        pool = self.guild_commands.get(guild_id, []) if guild_id else self.global_commands
        return next(c for c in pool if c["name"] == name)

    def slash(
        self,
        user: User,
        channel: Channel,
        command: str,
        subcommand: str | None = None,
        options: dict[str, Any] | None = None,
        *,
        locale: str = "en-US",
        focused: str | None = None,
    ) -> dict[str, Any]:
        """An APPLICATION_COMMAND (or autocomplete, with `focused`) interaction as Discord sends it."""
        command_id, command_guild = self.command_id(command, channel.guild_id)
        registered = self.registered(command, command_guild)
        spec = (
            registered["options"]
            if subcommand is None
            else next(o["options"] for o in registered["options"] if o["name"] == subcommand)
        )
        values: list[dict[str, Any]] = []
        resolved: dict[str, Any] = {}
        for name, value in (options or {}).items():
            option = next((o for o in spec if o["name"] == name), None)
            if option is None:
                raise KeyError(f"/{command} {subcommand or ''} has no option {name!r}")
            if option["type"] == 7:
                target = value if isinstance(value, Channel) else self.channels[str(value)]
                resolved.setdefault("channels", {})[target.id] = self._resolved_channel(user, target)
                value = target.id
            if option["type"] == 8:  # a role: Discord resolves it for the bot
                resolved.setdefault("roles", {})[value.id] = role_payload(value)
                value = value.id
            entry: dict[str, Any] = {"name": name, "type": option["type"], "value": value}
            if focused == name:
                entry["focused"] = True
            values.append(entry)
        data: dict[str, Any] = {"id": command_id, "name": command, "type": 1}
        if command_guild:
            data["guild_id"] = command_guild
        if subcommand is None:
            data["options"] = values
        else:
            data["options"] = [{"name": subcommand, "type": 1, "options": values}]
        if resolved:
            data["resolved"] = resolved
        return self._interaction(4 if focused else 2, user, channel, data, locale=locale)

    def select(
        self,
        user: User,
        channel: Channel,
        message: dict[str, Any],
        values: list[str],
        *,
        locale: str = "en-US",
        forged_custom_id: str | None = None,
    ) -> dict[str, Any]:
        """A MESSAGE_COMPONENT interaction: `user` submitted the first select menu of `message`.
        `forged_custom_id` replaces the menu's id, as a modified client could."""
        menu = next(c for row in message["components"] for c in row["components"] if c["type"] == 3)
        allowed = {o["value"] for o in menu["options"]}
        if not set(values) <= allowed or not menu.get("min_values", 1) <= len(values) <= menu.get(
            "max_values", 1
        ):
            raise ValueError(f"Discord would not let a user submit {values!r} in {menu!r}")
        custom_id = forged_custom_id or menu["custom_id"]
        data = {"custom_id": custom_id, "component_type": 3, "values": values}
        shown = dict(message, id=message.get("id") or snowflake(), channel_id=channel.id)
        return self._interaction(3, user, channel, data, locale=locale, message=self._message(shown))

    def press(
        self,
        user: User,
        channel: Channel,
        message: dict[str, Any],
        *,
        locale: str = "en-US",
        forged_custom_id: str | None = None,
    ) -> dict[str, Any]:
        """A MESSAGE_COMPONENT interaction: `user` pressed the first button of `message`."""
        button = next(c for row in message["components"] for c in row["components"] if c["type"] == 2)
        data = {"custom_id": forged_custom_id or button["custom_id"], "component_type": 2}
        shown = dict(message, id=message.get("id") or snowflake(), channel_id=channel.id)
        return self._interaction(3, user, channel, data, locale=locale, message=self._message(shown))

    def _resolved_channel(self, user: User, channel: Channel) -> dict[str, Any]:
        guild = self.guilds[channel.guild_id] if channel.guild_id else None
        perms = self.permissions(guild, user.id, channel) if guild else ALL_PERMISSIONS
        data: dict[str, Any] = {
            "id": channel.id,
            "name": channel.name,
            "type": channel.type,
            "permissions": str(perms),
            "parent_id": channel.parent_id,
        }
        if channel.is_thread:
            full = channel.payload()
            data.update(
                owner_id=full["owner_id"],
                member_count=full["member_count"],
                message_count=full["message_count"],
                thread_metadata=full["thread_metadata"],
            )
        return data

    def _interaction(
        self,
        type: int,
        user: User,
        channel: Channel,
        data: dict[str, Any],
        *,
        locale: str,
        message: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": snowflake(),
            "application_id": self.application_id,
            "type": type,
            "data": data,
            "channel_id": channel.id,
            "channel": channel.payload(),
            "token": f"interaction-token-{snowflake()}",
            "version": 1,
            "locale": locale,
            "entitlements": [],
            "attachment_size_limit": 10 * 1024 * 1024,
            "authorizing_integration_owners": {},
        }
        if message is not None:
            payload["message"] = message
        if channel.guild_id:
            guild = self.guilds[channel.guild_id]
            payload.update(
                guild_id=guild.id,
                guild={"id": guild.id, "locale": "en-US", "features": []},
                guild_locale="en-US",
                member=guild.members[user.id].payload(self.permissions(guild, user.id, channel)),
                app_permissions=str(self.permissions(guild, self.bot.id, channel)),
                context=0,
            )
            payload["authorizing_integration_owners"] = {"0": guild.id}
        else:
            payload.update(user=user.payload(), app_permissions=str(ALL_PERMISSIONS), context=1)
            payload["authorizing_integration_owners"] = {"0": self.owner.id}
        return payload

    async def interact(self, payload: dict[str, Any]) -> InteractionRecord:
        """Dispatch INTERACTION_CREATE to the connected bot; the record collects its answers."""
        record = InteractionRecord(payload["id"], payload["token"], payload, time.monotonic())
        self.interactions[record.id] = record
        await self.dispatch("INTERACTION_CREATE", payload)
        return record

    async def answered(
        self, record: InteractionRecord, messages: int = 1, timeout: float = 5.0
    ) -> InteractionRecord:
        """Wait until the bot acknowledged `record` and `messages` message bodies are visible."""

        def done() -> bool:
            if not record.callbacks:
                return False
            return record.callbacks[0]["type"] in (6, 8) or len(record.messages) >= messages

        try:
            async with asyncio.timeout(timeout):
                while not done():
                    record.changed.clear()
                    await record.changed.wait()
        except TimeoutError:
            raise AssertionError(f"interaction {record.id} not answered within {timeout:g} s") from None
        return record

    async def wait_posted(self, count: int, timeout: float = 5.0) -> list[Posted]:
        try:
            async with asyncio.timeout(timeout):
                while len(self.posted) < count:
                    self._message_event.clear()
                    await self._message_event.wait()
        except TimeoutError:
            raise AssertionError(f"{len(self.posted)} of {count} posts within {timeout:g} s") from None
        return self.posted

    # -- gateway ----------------------------------------------------------------------------

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        sessions = [s for s in self._sessions if s.identified]
        if not sessions:
            raise RuntimeError(f"no bot is connected to receive {event}")
        for session in sessions:
            await session.send(0, data, event)

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        self.gateway_connects.append(str(request.rel_url))
        if request.query.get("v") != "10" or request.query.get("encoding") != "json":
            raise web.HTTPBadRequest(text="gateway needs v=10&encoding=json")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        session = GatewaySession(ws, request.query.get("compress") == "zlib-stream")
        self._sessions.append(session)
        try:
            await session.send(10, {"heartbeat_interval": 41250})
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    break
                await self._gateway_message(session, json.loads(message.data))
        finally:
            self._sessions.remove(session)
        return ws

    async def _gateway_message(self, session: GatewaySession, message: dict[str, Any]) -> None:
        op, data = message.get("op"), message.get("d")
        if op == 1:
            await session.send(11, None)
        elif op == 2:
            self.identify_payloads.append(data)
            if data.get("token") != self.token:
                await session.ws.close(code=4004, message=b"Authentication failed.")
                return
            if data.get("intents", 0) & PRIVILEGED_INTENTS:
                await session.ws.close(code=4014, message=b"Disallowed intent(s).")
                return
            await self._ready(session, data.get("shard"))
        elif op == 6:
            if data.get("token") != self.token:
                await session.ws.close(code=4004, message=b"Authentication failed.")
                return
            session.identified = True
            await session.send(0, {}, "RESUMED")

    async def _ready(self, session: GatewaySession, shard: list[int] | None = None) -> None:
        """READY, then the bot's guilds; a sharded session gets those of its shard only, as Discord
        assigns them: (guild_id >> 22) % shard_count."""
        mine = [g for g in self.guilds.values() if self.bot.id in g.members]
        if shard is not None:
            mine = [g for g in mine if (int(g.id) >> 22) % shard[1] == shard[0]]
        await session.send(
            0,
            {
                **({"shard": shard} if shard is not None else {}),
                "v": 10,
                "user": self.bot.payload() | {"verified": True, "mfa_enabled": False, "flags": 0},
                "guilds": [{"id": g.id, "unavailable": True} for g in mine],
                "session_id": session.session_id,
                "resume_gateway_url": self.resume_gateway_url or self.gateway_url,
                "application": {"id": self.application_id, "flags": 0},
            },
            "READY",
        )
        session.identified = True
        for guild in mine:
            await session.send(0, guild.payload(self.bot.id), "GUILD_CREATE")
