"""Checked calls into Resolve's scripting API.

Resolve seldom raises: a failed call returns None, False, [] or {} with no message, and ``hasattr`` is True
for every name. ``checked`` turns such a result into a ``ResolveCallError`` that names the call and says
what to do; ``supports`` probes a method with ``dir()`` as the API notes advise.
"""


class PluginError(Exception):
    """A problem the editor must read: the message says what failed and what to do."""


class ResolveCallError(PluginError):
    """A Resolve call reported failure (None/False/empty) or did not do what it said."""


def supports(obj, method):
    """True when the Resolve object really has ``method`` (``hasattr`` is always True on Resolve objects)."""
    try:
        return method in dir(obj)
    except Exception:  # a dead Resolve proxy may fail even to list its names
        return False


def checked(obj, method, *args, **kwargs):
    """Call ``obj.method(*args)``; raise ResolveCallError when Resolve answers None/False/empty.

    ``what`` (keyword) describes the action for the message, e.g. "create the video track".
    ``allow_empty`` (keyword) accepts [] / {} / "" / 0 as a valid answer.
    """
    what = kwargs.pop("what", method)
    allow_empty = kwargs.pop("allow_empty", False)
    owner = type(obj).__name__
    if not supports(obj, method):
        raise ResolveCallError("this Resolve version has no %s.%s, needed to %s; update Resolve (the "
                               "plugin targets the scripting API of 19.1 and later)" % (owner, method, what))
    try:
        result = getattr(obj, method)(*args, **kwargs)
    except Exception as exc:  # Resolve can raise on a wrong argument type
        raise ResolveCallError("Resolve failed to %s: %s.%s raised %s" % (what, owner, method, exc))
    if result is None or result is False or (not allow_empty and result in ([], {}, "")):
        raise ResolveCallError("Resolve refused to %s (%s.%s returned %r); check that the page is Edit, "
                               "the track is not locked and the media is online" % (what, owner, method, result))
    return result
