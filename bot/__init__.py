"""qualitybot (质量通): construction-quality knowledge, quizzes and contests for Hainan's builders.

The package is the application core; it knows nothing of Telegram except in `app.py` (the application
factory), `runtime.py` (the process) and `sandbox/` (a local stand-in for Telegram's Bot API).
"""

__version__ = "0.1.0"
