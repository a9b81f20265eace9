"""The vocabulary of the synthetic export: contract columns, value sets, texts and dirty spellings.

Everything here is fictional or generic: Spanish first names and surnames, service notes,
province prefixes of postal codes; and, for the dirt, the raw spellings a CRM export uses
for each canonical value (``"Mujer"`` for ``F``, ``"nortee"`` for ``Norte``, ``"NUNCA"`` for
"never purchased").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = [
    "CATEGORIES", "CATEGORY_VARIANTS", "CHANNELS", "CHANNEL_VARIANTS", "CONSENT_VARIANTS", "CONTACT_COLUMNS",
    "FEMALE_NAMES", "GENDERS", "GENDER_VARIANTS", "LAST_NAMES", "MALE_NAMES", "MONTHS_EN", "MONTHS_ES",
    "NEVER_CODES", "NOTES", "PROMO_CHANNELS", "RAW_COLUMNS", "REFERENCE_DATE", "REGIONS", "REGION_ENGLISH",
    "REGION_TYPOS", "TRUTH_COLUMNS", "ZIP_PREFIXES",
]

# --------------------------------------------------------------------------------------
# Columns and values of the contract
# --------------------------------------------------------------------------------------

RAW_COLUMNS: tuple[str, ...] = (
    "customer_id", "age", "age_str_dirty", "gender", "income", "tenure_months",
    "total_orders", "days_since_last_purchase", "days_since_last_purchase_dirty",
    "pct_reordered", "pct_reordered_dirty", "avg_items_per_order", "region", "region_dirty",
    "fav_category", "signup_channel", "signup_date_dirty", "total_spent_dirty", "vip_score",
    "vip_flag", "notes", "json_prefs",
)
"""The 22 columns of the reference export, in contract order (section 1)."""

CONTACT_COLUMNS: tuple[str, ...] = (
    "email", "phone", "first_name", "last_name", "country", "zip",
    "consent_email", "consent_sms", "consent_push", "consent_ads",
)
"""Optional contact and consent columns, appended to the raw export when ``contact=True``."""

TRUTH_COLUMNS: tuple[str, ...] = (
    "customer_id", "segment", "vip_like", "age", "gender", "income", "tenure_months",
    "total_orders", "days_since_last_purchase", "never_purchased", "pct_reordered",
    "avg_items_per_order", "avg_ticket", "region", "fav_category", "signup_channel",
    "signup_date", "total_spent", "vip_score", "vip_flag", "promo_channel", "promo_level",
    "notes", *CONTACT_COLUMNS,
)
"""Columns of :func:`sample_customers`: the clean schema (section 2) plus truth extras."""

REGIONS: tuple[str, ...] = ("Norte", "Sur", "Este", "Oeste", "Centro")
CATEGORIES: tuple[str, ...] = ("Kids", "Grocery", "Sports", "Beauty", "Electronics", "Fashion", "Home")
CHANNELS: tuple[str, ...] = ("Mobile", "Web", "Store", "Referral", "Social")
GENDERS: tuple[str, ...] = ("F", "M", "Other", "Unknown")
PROMO_CHANNELS: tuple[str, ...] = ("push", "sms", "email", "none")

REFERENCE_DATE = np.datetime64("2025-06-30", "D")
"""The export date: ``signup_date`` is this date minus ``tenure_months`` (and a few days)."""

# --------------------------------------------------------------------------------------
# Texts and contact data (all fictional)
# --------------------------------------------------------------------------------------

NOTES: tuple[str, ...] = (
    "Prefiere comunicación por WhatsApp",
    "Cliente pide factura con NIF",
    "Llamar solo por la tarde",
    "No enviar publicidad en papel",
    "Prefiere recoger en tienda",
    "Reclamación resuelta, pedido devuelto",
    "Interesado en productos ecológicos",
    "Cambio de dirección, verificar código postal",
    "Pregunta por el programa de puntos",
    "Devolvió un pedido por talla",
    "Pidió hablar con un supervisor; resuelto",
    "Prefiere entregas los sábados",
    "Alergia al látex, no enviar muestras",
    "Compra regalos en Navidad",
    'Quiere recibir el "newsletter" mensual',
    "Contactar en catalán",
    "Pago con tarjeta regalo, sin incidencias",
    "Problema con la app, resuelto por chat",
    "Pregunta siempre por cupones de descuento",
    "Se quejó del retraso del último envío",
)
"""Service-agent notes (Spanish); about 60% of customers have none."""

FEMALE_NAMES = (
    "María", "Lucía", "Carmen", "Ana", "Laura", "Marta", "Sofía", "Paula", "Elena", "Isabel",
    "Cristina", "Sara", "Raquel", "Beatriz", "Nuria", "Pilar", "Andrea", "Irene", "Rocío", "Alba",
)
MALE_NAMES = (
    "José", "Antonio", "Manuel", "Francisco", "David", "Javier", "Daniel", "Carlos", "Miguel",
    "Alejandro", "Pablo", "Sergio", "Jorge", "Alberto", "Luis", "Álvaro", "Adrián", "Raúl",
    "Iván", "Rubén",
)
LAST_NAMES = (
    "García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez", "Pérez",
    "Gómez", "Martín", "Jiménez", "Ruiz", "Hernández", "Díaz", "Moreno", "Muñoz", "Álvarez",
    "Romero", "Alonso", "Gutiérrez", "Navarro", "Torres", "Domínguez", "Vázquez", "Ramos",
    "Gil", "Ramírez", "Serrano", "Blanco", "Molina", "Morales", "Suárez", "Ortega", "Delgado",
    "Castro", "Ortiz", "Rubio", "Marín", "Sanz", "Núñez", "Iglesias", "Medina", "Garrido",
    "Cortés", "Castillo", "Santos", "Lozano", "Guerrero", "Cano", "Prieto",
)
# Two-digit province prefixes of Spanish postal codes, by region.
ZIP_PREFIXES: Mapping[str, tuple[str, ...]] = {
    "Norte": ("48", "33", "39", "20", "15"),
    "Sur": ("41", "29", "18", "14", "11"),
    "Este": ("08", "46", "03", "43", "07"),
    "Oeste": ("06", "10", "36", "37", "49"),
    "Centro": ("28", "45", "47", "19", "05"),
}

# --------------------------------------------------------------------------------------
# Dirt vocabulary (raw spellings of canonical values)
# --------------------------------------------------------------------------------------

GENDER_VARIANTS: Mapping[str, tuple[Any, ...]] = {
    "F": ("female", "Mujer", "f", "F ", "FEMALE", "Femenino"),
    "M": ("male", "Hombre", "m", " M ", "MALE", "Masculino"),
    "Other": ("other", "Otro", "OTHER"),
    "Unknown": ("unknown", "Desconocido", "", None),
}
"""Raw spellings of each gender (a blank reads as Unknown, so it is only used for Unknown)."""

REGION_TYPOS: Mapping[str, tuple[str, ...]] = {
    "Norte": ("nortee", " nortee ", "Nrte", "Norrte", "Nortw", "NORTTE"),
    "Sur": ("surr", "Sud", "Suur", "Sut", "SURR"),
    "Este": ("Estee", "Ete", "Esre", "Eate", "ESTEE"),
    "Oeste": ("Oestee", "Oest", "Oexte", "Oestte", "oestee "),
    "Centro": ("Centroo", "Cntro", "Cetro", "Centr", "Cemtro", "centro."),
}
"""Region typos: each is at most one edit (insert/delete/substitute) from its region after lower-casing
and stripping spaces and punctuation, and at least two edits from every other region."""

REGION_ENGLISH: Mapping[str, tuple[str, ...]] = {
    "Norte": ("North",), "Sur": ("South",), "Este": ("East",), "Oeste": ("West",),
    "Centro": ("Centre", "Center"),
}

CATEGORY_VARIANTS: Mapping[str, tuple[str, ...]] = {
    "Kids": ("kids", "KIDS", " Kids ", "Niños", "ninos"),
    "Grocery": ("grocery", "GROCERY", "Grocery ", "Alimentación", "alimentacion"),
    "Sports": ("sports", "SPORTS", " Sports", "Deportes", "deportes"),
    "Beauty": ("beauty", "BEAUTY", "Beauty ", "Belleza", "belleza"),
    "Electronics": ("electronics", "ELECTRONICS", " Electronics", "Electrónica", "electronica"),
    "Fashion": ("fashion", "FASHION", "Fashion ", "Moda", "moda"),
    "Home": ("home", "HOME", " Home ", "Hogar", "hogar"),
}

CHANNEL_VARIANTS: Mapping[str, tuple[str, ...]] = {
    "Mobile": ("mobile", "MOBILE", " Mobile", "App", "Móvil"),
    "Web": ("web", "WEB ", "Web ", "Online", "online"),
    "Store": ("store", "STORE", " Store", "Tienda", "tienda"),
    "Referral": ("referral", "REFERRAL", "Referral ", "Referido", "referido"),
    "Social": ("social", "SOCIAL", " Social", "Redes sociales", "redes sociales"),
}

NEVER_CODES: tuple[Any, ...] = ("Never", "NEVER", "NUNCA", "nunca", 9999, "9999", 99999, "99999", -1, "-1")
"""Raw spellings of "never purchased" besides the canonical ``"never"``."""

CONSENT_VARIANTS: Mapping[str, tuple[Any, ...]] = {
    "true": ("TRUE", "True", "yes", "sí", "1", True),
    "false": ("FALSE", "False", "no", "0", False),
    "unknown": ("", None, "desconocido", "UNKNOWN"),
}

MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTHS_ES = ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic")
