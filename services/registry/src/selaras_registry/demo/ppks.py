"""Rare member-level PPKS categories (*Pemerlu Pelayanan Kesejahteraan Sosial*)."""

from __future__ import annotations

import random


def rare_ppks(
    rng: random.Random, age: int, female: bool, band: int, zone: str, in_school: bool | None
) -> str | None:
    """A rare member-level PPKS category plausible for this person, or None."""
    r = rng.random()
    if age < 5:
        return "anak_balita_terlantar" if band == 0 else None
    if age < 18:
        if not in_school and band == 0 and r < 0.5:
            return "anak_terlantar"
        if r < 0.6:
            return "anak_korban_tindak_kekerasan"
        if r < 0.8 and not female and age >= 12:
            return "anak_berhadapan_dengan_hukum"
        if r < 0.9 and zone == "urban":
            return "anak_jalanan"
        return "anak_memerlukan_perlindungan_khusus"
    if female:
        if r < 0.45:
            return "korban_tindak_kekerasan"
        if r < 0.6 and 18 <= age <= 45:
            return "korban_trafficking"
        if r < 0.8 and 20 <= age <= 50:
            return "pekerja_migran_bermasalah_sosial"
        return "odha" if r < 0.9 else None
    if r < 0.3 and age <= 45:
        return "korban_napza"
    if r < 0.5 and age <= 60:
        return "bekas_warga_binaan_pemasyarakatan"
    if r < 0.7 and zone == "urban" and band == 0:
        return "pemulung"
    if r < 0.85 and 20 <= age <= 50:
        return "pekerja_migran_bermasalah_sosial"
    if r < 0.92:
        return "odha"
    return "pengemis" if zone == "urban" else None
