"""Private: what a currency token next to an amount names (not public API).

A token is a currency symbol, code or name as written next to a number ("$", "US$", "руб.",
"zł", "درهم", "USD", "euros"). :func:`lookup` answers a :class:`Currency` - the name the
report uses and the ISO 4217 codes the token can stand for - or None for a token that is
not a currency. Two tables, searched in order:

1. **Built in** (no data to load): the ISO 4217 codes (upper case; the common ones also in
   lower case), and the symbols and words of :data:`_WORDS`, common in exports but missing
   from CLDR or ambiguous there ("руб.", "грн", "TL", "Bs", "درهم", "Rs").
2. **CLDR, through Babel** (loaded once per process, the first time a token is not in the
   first table; about 1.5 s): every code Babel knows (``babel.core.get_global("all_currencies")``,
   historic ones too: "DEM 12"; not the metals and units of :data:`_NOT_MONEY`), every
   currency's symbol in every language (``currency_symbols``: "Kč", "RM", "лв.", "د.إ.") and its
   names, singular and plural (``currency_names``, ``currency_names_plural``: "dólares
   estadounidenses", "US dollars", "российских рублей"). Left out: names with digits (historic
   "(1990–1992)"), single letters and two-letter Latin words ("km", "le", "or": a unit or a word
   before a currency), and a code written as its own symbol (codes count in upper case only).

Tokens are compared without case, spaces, accents or bidirectional marks ("US $" is "us$"), except
ISO codes, which only count in upper case (the common ones in any case: "usd 12", but
"all 12" is not Albanian leks). A code glued to a symbol of its own currency ("SGD$",
"USD$", "$USD", "CAD $") is that code. Never currencies: a single Latin letter (CLDR's K,
L, Q, R, ...: "12K" is twelve thousand, so "Q 12.50" and "R 1 234,50" are refused) and words
of magnitude (:data:`_MAGNITUDES`: "mil", "Mio.", "bn", "lakh", ...), which change the amount.

A token that names several currencies ("$", "kr", "¥", "£" is GBP) keeps its symbol as its
name; :func:`family` gives the codes it may stand for, so "$" next to "MXN" is one currency.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from babel.core import get_global
from babel.localedata import load, locale_identifiers

__all__ = ["Currency", "family", "lookup", "whole_units"]


@dataclass(frozen=True)
class Currency:
    """A currency token's report name (ISO code, or the symbol of a token naming several) and codes."""

    name: str
    codes: frozenset[str]


#: ISO 4217 codes read without the CLDR data (upper case only in the text), and aliases.
_ISO = frozenset((
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYN "
    "BZD CAD CDF CHE CHF CHW CLF CLP CNH CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR "
    "FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HRK HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES "
    "KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK "
    "MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD "
    "SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX "
    "USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG ZWL RMB NIS"
).split())
_ALIAS = {"RMB": "CNY", "NIS": "ILS", "CNH": "CNY"}
#: Codes also read in lower or mixed case ("usd 12", "12 eur").
_COMMON = frozenset((
    "USD EUR GBP MXN COP CLP ARS BRL CHF PEN UYU PYG BOB VES CRC GTQ DOP JPY CNY CAD AUD NZD SEK NOK DKK "
    "PLN CZK HUF RON TRY INR ZAR RUB UAH"
).split())
_DOLLARS = "USD MXN COP CLP ARS CAD AUD NZD HKD SGD UYU DOP TWD BSD BBD BZD BMD KYD XCD FJD GYD JMD LRD NAD SBD SRD TTD BND CUP"
#: Symbols and words (compared as :func:`_key` makes them) -> (report name, codes it may name).
_WORDS: dict[str, tuple[str, str]] = {
    **dict.fromkeys(["$", "dollars", "dollar", "dólares", "dolares", "dólar", "dolar", "pesos", "peso"],
                    ("$", _DOLLARS)),
    **dict.fromkeys(["us$", "u$s", "u$", "usd$", "$us", "us dollars", "dollars us"], ("USD", "USD")),
    "$au": ("AUD", "AUD"), "$hk": ("HKD", "HKD"), "$nz": ("NZD", "NZD"), "$sg": ("SGD", "SGD"), "$ca": ("CAD", "CAD"),
    "mop$": ("MOP", "MOP"), "ws$": ("WST", "WST"), "fdj": ("DJF", "DJF"), "cfp": ("XPF", "XPF"),
    **dict.fromkeys(["afl.", "afl", "naf.", "naf"], ("ANG", "ANG AWG")), "сўм": ("UZS", "UZS"),
    "r$": ("BRL", "BRL"), "reais": ("BRL", "BRL"), "real": ("BRL", "BRL"),
    "ca$": ("CAD", "CAD"), "c$": ("CAD", "CAD"), "a$": ("AUD", "AUD"), "au$": ("AUD", "AUD"), "nz$": ("NZD", "NZD"),
    "hk$": ("HKD", "HKD"), "s$": ("SGD", "SGD"), "mx$": ("MXN", "MXN"), "col$": ("COP", "COP"),
    "clp$": ("CLP", "CLP"), "ar$": ("ARS", "ARS"), "rd$": ("DOP", "DOP"), "$u": ("UYU", "UYU"), "nt$": ("TWD", "TWD"),
    **dict.fromkeys(["€", "euros", "euro", "eur."], ("EUR", "EUR")),
    **dict.fromkeys(["£", "pounds", "pound", "libras", "libra"], ("GBP", "GBP")),
    **dict.fromkeys(["¥", "yen", "yenes"], ("¥", "JPY CNY")),
    **dict.fromkeys(["元", "圆", "块", "yuan"], ("CNY", "CNY")), "円": ("JPY", "JPY"),
    **dict.fromkeys(["₹", "रु", "रु."], ("INR", "INR")),
    **dict.fromkeys(["₨", "rs", "rs.", "rupees", "rupee", "rupias", "rupia"], ("Rs", "INR PKR LKR NPR MUR SCR")),
    **dict.fromkeys(["₽", "руб", "руб.", "р.", "рубль", "рубля", "рублей", "rubles", "roubles", "rublos"], ("RUB", "RUB")),
    **dict.fromkeys(["₴", "грн", "грн.", "гр.", "гривня", "гривні", "гривень"], ("UAH", "UAH")),
    **dict.fromkeys(["₩", "원", "won"], ("KRW", "KRW")),
    **dict.fromkeys(["₺", "tl", "ytl"], ("TRY", "TRY")),
    **dict.fromkeys(["₪", 'ש"ח', "ש״ח", "שח"], ("ILS", "ILS")),
    **dict.fromkeys(["฿", "บาท", "baht"], ("THB", "THB")),
    **dict.fromkeys(["zł", "zl", "złoty", "złote", "złotych", "zloty", "zlotys"], ("PLN", "PLN")),
    **dict.fromkeys(["kč", "kc", "korun", "koruny", "koruna"], ("CZK", "CZK")),
    **dict.fromkeys(["ft", "ft.", "forint", "forints"], ("HUF", "HUF")), **dict.fromkeys(["lei", "leu"], ("RON", "RON")),
    **dict.fromkeys(["лв", "лв.", "лева", "лев"], ("BGN", "BGN")), **dict.fromkeys(["ден", "ден.", "den"], ("MKD", "MKD")),
    **dict.fromkeys(["pesetas", "peseta", "pts", "pts.", "ptas", "ptas.", "₧"], ("ESP", "ESP")),
    **dict.fromkeys(["дин", "дин.", "din", "din."], ("RSD", "RSD")), "kn": ("HRK", "HRK"),
    **dict.fromkeys(["kr", "kr."], ("kr", "SEK NOK DKK ISK")),
    **dict.fromkeys(["fr.", "sfr.", "sfr", "chf."], ("CHF", "CHF")),
    **dict.fromkeys(["fcfa", "cfa", "fcfa.", "cfaf"], ("CFA", "XOF XAF")),
    **dict.fromkeys(["s/", "s/.", "soles", "sol"], ("PEN", "PEN")), "b/.": ("PAB", "PAB"),
    **dict.fromkeys(["bs", "bs.", "bs.s", "bs.f", "bs.d", "bolívares", "bolivares"], ("Bs", "VES VEF BOB")),
    **dict.fromkeys(["₲", "gs", "gs.", "guaraníes", "guaranies"], ("PYG", "PYG")),
    **dict.fromkeys(["₡", "colones"], ("CRC", "CRC")), "quetzales": ("GTQ", "GTQ"),
    **dict.fromkeys(["rp", "rp."], ("IDR", "IDR")), "rm": ("MYR", "MYR"), "₱": ("PHP", "PHP"), "₫": ("VND", "VND"),
    **dict.fromkeys(["₦", "naira"], ("NGN", "NGN")), **dict.fromkeys(["৳", "tk", "tk."], ("BDT", "BDT")),
    **dict.fromkeys(["ksh", "ksh."], ("KES", "KES")), **dict.fromkeys(["gh₵", "₵"], ("GHS", "GHS")),
    "₸": ("KZT", "KZT"), "₼": ("AZN", "AZN"), "₾": ("GEL", "GEL"),
    **dict.fromkeys(["e£", "l.e.", "ج.م", "ج.م."], ("EGP", "EGP")),
    **dict.fromkeys(["د.إ", "د.إ."], ("AED", "AED")), "د.م.": ("MAD", "MAD"),
    **dict.fromkeys(["درهم", "dirham", "dirhams", "dhs", "dh"], ("درهم", "AED MAD")),
    **dict.fromkeys(["ر.س", "ر.س."], ("SAR", "SAR")), **dict.fromkeys(["ر.ق", "ر.ق."], ("QAR", "QAR")),
    **dict.fromkeys(["د.ك", "د.ك."], ("KWD", "KWD")),
    **dict.fromkeys(["ريال", "riyal", "riyals", "rial", "rials"], ("ريال", "SAR QAR OMR YER IRR")),
}
#: Words that change the amount (thousands, millions): never a currency, whatever CLDR says.
_MAGNITUDES = frozenset(
    "k m mm mn b bn mil mill mio mio. mrd mrd. md tsd tsd. tys tys. lakh lakhs lac lacs cr cr. crore crores "
    "thousand thousands million millions billion billions millón millones mil. тыс тыс. млн млн. млрд млрд. "
    "万 億 亿 千 百万".split()
)
#: CLDR codes that are not money next to an amount: precious metals, units of account, tests, "no currency".
_NOT_MONEY = frozenset("XAU XAG XPD XPT XTS XXX XBA XBB XBC XBD XSU XUA XFO XFU XRE XDR".split())
_ISO_SHAPE = re.compile("[A-Z]{3}")
_INVISIBLE = re.compile("[\\s\u200b-\u200f\u061c\u202a-\u202e\u2066-\u2069]+")
_CODE_AND_SYMBOL = re.compile(r"([A-Z]{3})\s*(\S.*)|(.*\S)\s*([A-Z]{3})")


def _key(token: str) -> str:
    """The form tokens are compared in: no spaces, bidirectional marks or accents, case-folded."""
    text = unicodedata.normalize("NFKD", _INVISIBLE.sub("", token).casefold())
    return unicodedata.normalize("NFC", "".join(ch for ch in text if not unicodedata.combining(ch)))


_BUILT_IN: dict[str, Currency] = {_key(w): Currency(name, frozenset(codes.split())) for w, (name, codes) in _WORDS.items()}


def _code(token: str, known: frozenset[str]) -> Currency | None:
    up = token.upper()
    if up in known and (token == up or up in _COMMON):
        name = _ALIAS.get(up, up)
        return Currency(name, frozenset({name}))
    return None


@lru_cache(maxsize=4096)
def lookup(token: str) -> Currency | None:
    """The currency ``token`` names, or None (see the module docstring).

    >>> lookup("zł"), lookup("SGD$").name, lookup("$").name, lookup("K")
    (Currency(name='PLN', codes=frozenset({'PLN'})), 'SGD', '$', None)
    """
    token = token.strip()
    key = _key(token)
    if not key or key in _MAGNITUDES or (len(key) == 1 and key.isascii() and key.isalpha()):
        return None
    found = _code(token, _ISO) or _BUILT_IN.get(key)
    if found is not None:
        return found
    codes, table = _cldr()
    found = _code(token, codes) or table.get(key)
    if found is not None:
        return found
    m = _CODE_AND_SYMBOL.fullmatch(token)  # "SGD$", "USD $", "$USD": a code and a symbol of its own
    if m:
        code, symbol = (m[1], m[2]) if m[1] else (m[4], m[3])
        named, sym = _code(code, codes), lookup(symbol)
        if named is not None and sym is not None and named.name in sym.codes:
            return named
    return None


@lru_cache(maxsize=1024)
def whole_units(name: str) -> bool:
    """True when every currency ``name`` may stand for is counted in whole units (CLDR's decimal
    or cash digits are 0: JPY, KRW, CLP, COP, IDR, HUF, TWD, ...): "¥1,234" and "Rp 12.500" group thousands."""
    fractions = get_global("currency_fractions")
    codes = family(name) if name else frozenset()
    return bool(codes) and all(code in fractions and 0 in (fractions[code][0], fractions[code][2]) for code in codes)


def family(name: str) -> frozenset[str]:
    """Codes a report name may stand for: itself for a code, every currency of a symbol ("$")."""
    found = lookup(name)
    return found.codes if found is not None else frozenset({name})


@lru_cache(maxsize=1)
def _cldr() -> tuple[frozenset[str], dict[str, Currency]]:
    """Every currency code Babel knows, and every symbol and name in CLDR -> Currency."""
    codes = (frozenset(get_global("all_currencies")) | _ISO) - _NOT_MONEY
    named: dict[str, tuple[str, set[str]]] = {}

    def add(token: object, code: str) -> None:
        if code in _NOT_MONEY or not isinstance(token, str) or any(ch.isdigit() or ch in "()+-" for ch in token):
            return  # "Belarusian Ruble (2000–2016)": a historic name with years, never next to an amount
        key = _key(token)
        if (not key or key in _MAGNITUDES or key in _BUILT_IN or (len(key) == 1 and key.isalpha())
                or (len(key) <= 2 and key.isascii() and key.isalpha())  # "km", "le", "or": words first
                or _ISO_SHAPE.fullmatch(token.strip())):  # a code as its own symbol: read as a code, in upper case
            return
        entry = named.setdefault(key, (token.strip(), set()))
        entry[1].add(code)

    # language locales only: names belong to the language, and the few symbols only regional
    # locales have ("$ US", "MOP$", "Afl.") are in _WORDS; this halves the time
    for locale in (loc for loc in locale_identifiers() if "_" not in loc):
        data = load(locale)
        for code, symbol in data.get("currency_symbols", {}).items():
            add(symbol, code)
        for code, name in data.get("currency_names", {}).items():
            add(name, code)
        for code, forms in data.get("currency_names_plural", {}).items():
            for form in forms.values():
                add(form, code)
    table = {k: Currency(next(iter(cs)) if len(cs) == 1 else token, frozenset(cs)) for k, (token, cs) in named.items()}
    return codes, table
