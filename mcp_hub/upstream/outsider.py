"""The one outsider-text gate: per result, clean or withhold text written by outsiders, and remember it.

Who is an outsider is each service's question (GitHub's `author_association`,
GitLab's project members, Slack's external users); what happens to their text
is the same everywhere, so it lives here. A connector decides `outsider=` and
hands the text over; the flag is keyword-only, so the argument order cannot
drift between connectors again.

    gate = OutsiderGate(lockdown=settings.lockdown or lockdown_requested(), withheld=WITHHELD)
    body = gate.keep(issue["body"], outsider=is_outsider(issue))
    ToolOutput(data, Provenance(..., outsider_text=gate.outsider_seen))
"""

from __future__ import annotations

from mcp_hub.provenance import clean_outsider_text

WITHHELD = "[withheld: written by an outsider; lockdown is on]"


class OutsiderGate:
    def __init__(self, lockdown: bool, *, withheld: str = WITHHELD) -> None:
        self.lockdown = lockdown
        self.withheld_text = withheld
        #: Whether any outsider text was passed on (cleaned) in this result: its provenance says so.
        self.outsider_seen = False
        #: How many outsider texts were withheld (lockdown).
        self.withheld = 0

    def outsider(self, text: str) -> str:
        """Text known to come from an outsider: withheld under lockdown, else cleaned and remembered."""
        if self.lockdown:
            self.withheld += 1
            return self.withheld_text
        self.outsider_seen = True
        return clean_outsider_text(text)

    def keep(self, text: str | None, *, outsider: bool) -> str | None:
        """`text` as the result may carry it: unchanged when not an outsider's, else through `outsider`."""
        if text is None or text == "" or not outsider:
            return text
        return self.outsider(text)
