"""One date format and one time format per language, everywhere (settings.FORMAT_MODULE_PATH).

Pages, emails and messages name a day as DATE_FORMAT ("17 May 1990", "17 de mayo de 1990")
and a time as TIME_FORMAT, 24-hour in both languages ("10:00"). A date typed into a form
is read with DATE_INPUT_FORMATS, whose first entry is also how a form shows a date back: the
format the hints give (17/05/1990). Names Django already gets right for a language (its
month names, Spanish times) are left to Django's own module, which these complete.
"""
