"""The ``serve`` and ``tenants`` subcommands of ``segengine``.

Importing this module costs nothing: the web stack (starlette, uvicorn) is imported by ``serve``
only, so ``segengine demo`` and ``segengine tenants`` work without the ``[service]`` extra, and
``segengine serve`` without it says how to install it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from segengine.arguments import port, positive_int

__all__ = ["INSTALL_HINT", "add_subcommands"]

INSTALL_HINT = 'segengine serve needs the service extra: pip install "segengine[service]"'


class _CommandError(Exception):
    """Rendered by the CLI as one ``segengine: error:`` line, exit status 1."""


def _error(message: str) -> int:
    print(f"segengine: error: {message}", file=sys.stderr)
    return 1


# One definition of each argument type, shared with the report commands.
_positive_int = positive_int
_port = port


# ------------------------------------------------------------------------------ serve


def _cmd_serve(args: argparse.Namespace) -> int:
    try:
        import orjson  # noqa: F401
        import starlette  # noqa: F401
        import uvicorn
    except ImportError as exc:
        return _error(f"{INSTALL_HINT} ({exc.name} is missing)")
    from segengine.service.app import create_app
    from segengine.service.config import ConfigError, ServiceConfig
    from segengine.service.logs import configure_logging

    try:
        config = ServiceConfig.from_env(tenants_file=args.tenants).with_overrides(
            workers=args.workers, default_tenant=args.default_tenant,
        )
    except ConfigError as exc:
        return _error(str(exc))
    configure_logging()
    import logging

    log = logging.getLogger("segengine.service")
    if len(config.tenants) == 0:
        log.warning("no tenants configured: every request will be refused with 401 "
                    "(segengine tenants add FILE, then --tenants FILE)")
    app = create_app(config)
    state = app.state.segengine

    class _DrainingServer(uvicorn.Server):
        """uvicorn's server, telling the app to refuse new work as soon as SIGTERM arrives."""

        def handle_exit(self, sig: int, frame: Any) -> None:
            state.draining = True
            super().handle_exit(sig, frame)

    uv_config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=config.drain_timeout_s,
        # Longer than clients' idle pools (httpx and many others keep 5 s): a server closing an
        # idle connection at the moment the client reuses it is a spurious connection reset.
        timeout_keep_alive=75,
        lifespan="on",
    )
    log.info("segengine service: %d report workers, %d queue places, tenants: %d",
             config.n_workers, config.n_queue, len(config.tenants))
    _DrainingServer(uv_config).run()
    return 0


# ------------------------------------------------------------------------------ tenants


def _cmd_tenants_add(args: argparse.Namespace) -> int:
    from segengine.service import tenants as t

    generated = []
    token, secret = args.token, args.secret
    if token is None:
        token = t.new_token()
        generated.append(("token", token))
    if secret is None:
        secret = t.new_secret()
        generated.append(("secret", secret))
    try:
        document = t.load_document(args.file, missing_ok=True)
        key_id = t.add_key(document, args.tenant, token, secret, args.rate_limit)
        t.save_document(args.file, document)
    except t.TenantsFileError as exc:
        return _error(str(exc))
    tenant_id = t.check_tenant_id(args.tenant)
    print(f"added key {key_id} to tenant {tenant_id} in {args.file}")
    if generated:
        print("store these now; they are not kept and cannot be shown again:")
        for name, value in generated:
            print(f"  {name}: {value}")
    return 0


def _cmd_tenants_revoke(args: argparse.Namespace) -> int:
    from segengine.service import tenants as t

    try:
        document = t.load_document(args.file)
        removed = t.revoke(document, args.tenant, args.token)
        t.save_document(args.file, document)
    except t.TenantsFileError as exc:
        return _error(str(exc))
    what = "the key" if args.token else f"tenant {t.check_tenant_id(args.tenant)} and its {removed} key(s)"
    print(f"revoked {what} in {args.file}")
    return 0


def _cmd_tenants_list(args: argparse.Namespace) -> int:
    from segengine.service import tenants as t

    try:
        tenants = t.parse_document(t.load_document(args.file), args.file)
    except t.TenantsFileError as exc:
        return _error(str(exc))
    if args.json:
        print(json.dumps([
            {"tenant": x.tenant_id, "rate_limit": x.rate_limit,
             "keys": [{"id": k.key_id, "created": k.created} for k in x.keys]}
            for x in tenants.values()
        ], indent=2))
        return 0
    if not tenants:
        print(f"no tenants in {args.file}")
        return 0
    print(f"{'tenant':<38} {'limit/min':>9}  keys")
    for x in tenants.values():
        keys = ", ".join(f"{k.key_id} ({k.created})" for k in x.keys) or "-"
        print(f"{x.tenant_id:<38} {x.rate_limit:>9}  {keys}")
    return 0


# ------------------------------------------------------------------------------ parsers


def add_subcommands(sub: Any) -> None:
    """Register ``serve`` and ``tenants`` on the CLI's subparsers.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The ``segengine`` command's subparsers; each command sets ``func``.
    """
    serve = sub.add_parser(
        "serve", help="run the segmentation-report endpoint as an HTTP service (extra [service])",
        description="Serve POST /api/v1/ai/echointel/customer-intelligence/segmentation-report with "
        "bearer-token tenants, rate limits, body limits and gzip. Other settings come from SEGENGINE_* "
        "environment variables (README, 'HTTP service').",
    )
    serve.add_argument("--host", default=os.environ.get("SEGENGINE_HOST", "127.0.0.1"),
                       help="address to listen on (default: 127.0.0.1; 0.0.0.0 for every interface)")
    serve.add_argument("--port", type=_port, default=os.environ.get("SEGENGINE_PORT", "8000"),
                       help="port (default: 8000)")
    serve.add_argument("--workers", type=_positive_int, default=None, metavar="N",
                       help="reports computed at once (default: the number of cores)")
    serve.add_argument("--tenants", metavar="FILE", default=None,
                       help="tenants file (default: $SEGENGINE_TENANTS_FILE)")
    serve.add_argument("--default-tenant", metavar="UUID", default=None,
                       help="tenant of requests without X-Customer-Api-Id/X-Secret "
                            "(default: $SEGENGINE_DEFAULT_TENANT)")
    serve.set_defaults(func=_cmd_serve)

    tenants = sub.add_parser(
        "tenants", help="manage the service's tenants file (keys stored as hashes)",
        description="Add, revoke and list tenant keys. Tokens and secrets are stored as SHA-256 digests only.",
    )
    tsub = tenants.add_subparsers(dest="tenants_command", metavar="ACTION")
    tsub.required = True
    add = tsub.add_parser("add", help="add a key (generates and prints the token and secret when not given)")
    add.add_argument("file", metavar="FILE")
    add.add_argument("--tenant", required=True, metavar="UUID", help="tenant id, a UUID v4")
    add.add_argument("--token", metavar="TOKEN", help="bearer token (>= 32 characters); generated when omitted")
    add.add_argument("--secret", metavar="SECRET", help="64-character secret; generated when omitted")
    add.add_argument("--rate-limit", type=_positive_int, metavar="N",
                     help="requests per minute for the tenant (default: 100, or unchanged)")
    add.set_defaults(func=_cmd_tenants_add)
    revoke = tsub.add_parser("revoke", help="revoke one key (--token) or the whole tenant")
    revoke.add_argument("file", metavar="FILE")
    revoke.add_argument("--tenant", required=True, metavar="UUID")
    revoke.add_argument("--token", metavar="TOKEN", help="the key to revoke; every key of the tenant when omitted")
    revoke.set_defaults(func=_cmd_tenants_revoke)
    listing = tsub.add_parser("list", help="list tenants, limits and key ids (never tokens or secrets)")
    listing.add_argument("file", metavar="FILE")
    listing.add_argument("--json", action="store_true", help="as JSON")
    listing.set_defaults(func=_cmd_tenants_list)
