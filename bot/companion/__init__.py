"""The opt-in recovery companion: clean date and milestones, daily check-ins, medication
reminders, meeting finders (issue 15).

Pure code only, testable with a fake clock: ``settings`` (what a user turned on), ``parse``
(dates, times and time zones as people type them, in the bot's languages), ``schedule``
(what is due when in the user's time zone, milestones, the lateness rule), ``chart``
(the /progress sparkline), ``meetings`` (the finders of clinical_facts.md §18 per country),
``triggers`` (messages that ask for a companion feature). The conversation turns these into
replies and effects; the shells only store, schedule and deliver.
"""
