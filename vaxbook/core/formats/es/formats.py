# Django's Spanish formats give "17 de mayo de 1990" and "10:00"; only the dates people type
# differ: the same separators as in English, and no two-digit year ("17/05/30" could be a
# birth in 1930 or 2030).
DATE_INPUT_FORMATS = ["%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%d %m %Y"]
