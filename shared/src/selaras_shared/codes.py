"""Code lists more than one service uses.

PPKS (*Pemerlu Pelayanan Kesejahteraan Sosial*, people in need of social welfare services)
are the 26 categories of Permensos 8/2012: the registry records them on households and
members, the referral service on intake cases.
"""

from __future__ import annotations

from enum import StrEnum


class Ppks(StrEnum):
    """The 26 PPKS categories (Permensos 8/2012)."""

    anak_balita_terlantar = "anak_balita_terlantar"
    anak_terlantar = "anak_terlantar"
    anak_berhadapan_dengan_hukum = "anak_berhadapan_dengan_hukum"
    anak_jalanan = "anak_jalanan"
    anak_dengan_kedisabilitasan = "anak_dengan_kedisabilitasan"
    anak_korban_tindak_kekerasan = "anak_korban_tindak_kekerasan"
    anak_memerlukan_perlindungan_khusus = "anak_memerlukan_perlindungan_khusus"
    lanjut_usia_terlantar = "lanjut_usia_terlantar"
    penyandang_disabilitas = "penyandang_disabilitas"
    tuna_susila = "tuna_susila"
    gelandangan = "gelandangan"
    pengemis = "pengemis"
    pemulung = "pemulung"
    kelompok_minoritas = "kelompok_minoritas"
    bekas_warga_binaan_pemasyarakatan = "bekas_warga_binaan_pemasyarakatan"
    odha = "odha"  # orang dengan HIV/AIDS
    korban_napza = "korban_napza"
    korban_trafficking = "korban_trafficking"
    korban_tindak_kekerasan = "korban_tindak_kekerasan"
    pekerja_migran_bermasalah_sosial = "pekerja_migran_bermasalah_sosial"
    korban_bencana_alam = "korban_bencana_alam"
    korban_bencana_sosial = "korban_bencana_sosial"
    perempuan_rawan_sosial_ekonomi = "perempuan_rawan_sosial_ekonomi"
    fakir_miskin = "fakir_miskin"
    keluarga_bermasalah_sosial_psikologis = "keluarga_bermasalah_sosial_psikologis"
    komunitas_adat_terpencil = "komunitas_adat_terpencil"
