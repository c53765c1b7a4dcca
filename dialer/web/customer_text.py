"""The customer self-service page's words, in the customer's language (F15).

English and Spanish ship; the record's language tag picks one (``es-MX`` -> ``es``) through
:func:`campaigns.notifications.choose_language`, English otherwise.  Dates are written out
here too (day and month names), so the page never depends on the server's locale.
"""

from __future__ import annotations

import datetime as dt

from campaigns import notifications

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Your call with {company}",
        "scheduled": "We will call you on {when}.",
        "requested": "Please choose a new time for our call.",
        "proposed": "Please choose one of the times below for our call.",
        "pending": "Our call is not scheduled yet.",
        "suggested": "You suggested {when}; we will confirm it.",
        "number": "We will call the number ending in {digits}.",
        "zone": "Times are shown in your time zone ({tz}).",
        "pick_heading": "Pick another time",
        "no_slots": "No free time is available online right now: suggest a time below.",
        "suggest_heading": "Suggest a time",
        "date": "Date", "from": "From", "to": "Until", "message": "Message (optional)",
        "suggest_button": "Suggest this time",
        "cancel_heading": "Cancel the call",
        "reason": "Reason (optional)", "cancel_button": "Cancel the call",
        "picked": "Thank you: we will call you on {when}.",
        "suggested_done": "Thank you: we received your suggestion ({when}) and will confirm it.",
        "cancelled": "Your call has been cancelled. Thank you for letting us know.",
        "invalid": "This link is not valid. Please use the latest link we sent you.",
        "expired": "This link has expired or is no longer valid.",
        "slot_unavailable": "This time is no longer available: please pick another.",
        "no_legal_minute": "We cannot call at that time. The earliest possible time is {when}.",
        "bad_time": "Please enter a valid date and times.",
        "form_expired": "This form has expired: please open the link again.",
        "lang": "en",
    },
    "es": {
        "title": "Su llamada con {company}",
        "scheduled": "Le llamaremos el {when}.",
        "requested": "Por favor, elija una nueva hora para nuestra llamada.",
        "proposed": "Por favor, elija una de las horas siguientes para nuestra llamada.",
        "pending": "Nuestra llamada aún no está programada.",
        "suggested": "Usted propuso el {when}; se lo confirmaremos.",
        "number": "Llamaremos al número que termina en {digits}.",
        "zone": "Las horas se muestran en su zona horaria ({tz}).",
        "pick_heading": "Elija otra hora",
        "no_slots": "No hay horas libres en línea ahora: proponga una hora abajo.",
        "suggest_heading": "Proponga una hora",
        "date": "Fecha", "from": "Desde", "to": "Hasta", "message": "Mensaje (opcional)",
        "suggest_button": "Proponer esta hora",
        "cancel_heading": "Cancelar la llamada",
        "reason": "Motivo (opcional)", "cancel_button": "Cancelar la llamada",
        "picked": "Gracias: le llamaremos el {when}.",
        "suggested_done": "Gracias: hemos recibido su propuesta ({when}) y se la confirmaremos.",
        "cancelled": "Su llamada ha sido cancelada. Gracias por avisarnos.",
        "invalid": "Este enlace no es válido. Use el último enlace que le enviamos.",
        "expired": "Este enlace ha caducado o ya no es válido.",
        "slot_unavailable": "Esta hora ya no está disponible: por favor, elija otra.",
        "no_legal_minute": "No podemos llamar a esa hora. La primera hora posible es el {when}.",
        "bad_time": "Introduzca una fecha y unas horas válidas.",
        "form_expired": "Este formulario ha caducado: abra el enlace de nuevo.",
        "lang": "es",
    },
}

_DAYS = {"en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
         "es": ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"]}
_MONTHS = {"en": ["January", "February", "March", "April", "May", "June", "July", "August",
                  "September", "October", "November", "December"],
           "es": ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
                  "septiembre", "octubre", "noviembre", "diciembre"]}


def language_of(tag: str | None) -> str:
    """The page's language for a record's language tag.

    >>> language_of("es-MX"), language_of("fr"), language_of(None)
    ('es', 'en', 'en')
    """
    return notifications.choose_language(tag or "")


def say(language: str, key: str, **values: object) -> str:
    """The text ``key`` in ``language`` with ``values`` filled in.

    >>> say("es", "picked", when="lunes")
    'Gracias: le llamaremos el lunes.'
    """
    return TEXTS[language_of(language)][key].format(**values)


def day(value: dt.datetime, language: str) -> str:
    """A date written out.

    >>> day(dt.datetime(2026, 11, 23, 10), "es"), day(dt.datetime(2026, 11, 23, 10), "en")
    ('lunes 23 de noviembre de 2026', 'Monday 23 November 2026')
    """
    lang = language_of(language)
    name, month = _DAYS[lang][value.weekday()], _MONTHS[lang][value.month - 1]
    if lang == "es":
        return f"{name} {value.day} de {month} de {value.year}"
    return f"{name} {value.day} {month} {value.year}"


def window(start: dt.datetime, end: dt.datetime | None, language: str) -> str:
    """A local window: its day and hours (the end's day too when it differs).

    >>> a = dt.datetime(2026, 11, 23, 10)
    >>> window(a, a.replace(hour=12), "en")
    'Monday 23 November 2026, 10:00–12:00'
    """
    text = f"{day(start, language)}, {start:%H:%M}"
    if end is None:
        return text
    if end.date() != start.date():
        return f"{text} – {day(end, language)}, {end:%H:%M}"
    return f"{text}–{end:%H:%M}"
