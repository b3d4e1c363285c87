"""Server-rendered pages for the links Roster mails.

Plain HTML forms that post back to their own path with the token in a hidden
field; no JavaScript. Actions that change something wait for a POST (mail
scanners fetch links). See docs/link-pages.md.
"""

from aiohttp import web

from app.pages import accounts, domains, invitations, join_requests, ownership
from app.pages.render import STYLESHEET_PATH, stylesheet


def add_routes(app: web.Application) -> None:
    router = app.router
    router.add_get(STYLESHEET_PATH, stylesheet)
    for path, show, submit in (
        (invitations.PATH, invitations.show, invitations.submit),
        (accounts.RESET_PATH, accounts.reset_show, accounts.reset_submit),
        (accounts.VERIFY_PATH, accounts.verify_show, accounts.verify_submit),
        (ownership.PATH, ownership.show, ownership.submit),
        (domains.PATH, domains.show, domains.submit),
    ):
        router.add_get(path, show)
        router.add_post(path, submit)
    router.add_get(join_requests.PATH, join_requests.show)
