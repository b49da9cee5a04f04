"""Chat platforms, one package each (console, telegram, discord), plus the toolkit they share.

An adapter translates only: platform events become neutral Requests (inbound), the core's
Replies become platform messages (render), and the adapter carries out the reply intents
the core decided (platform). Adapters import the kernel and the toolkit, never a feature.
A new platform is a new package here with `CONFIG` and `from_config` in its __init__.
"""
