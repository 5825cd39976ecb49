"""Code lists of the registry (Indonesian terms of art kept as codes).

PPKS (*Pemerlu Pelayanan Kesejahteraan Sosial*, people in need of social welfare services)
are the 26 categories of Permensos 8/2012. *Desil* is the welfare decile (1 = poorest)
of the national social registry (DTKS, now DTSEN).
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


class Sex(StrEnum):
    """Sex as recorded on the family card."""

    male = "male"
    female = "female"


class Relationship(StrEnum):
    """Relationship to the head of the family (*hubungan dengan kepala keluarga*)."""

    kepala_keluarga = "kepala_keluarga"
    suami = "suami"
    istri = "istri"
    anak = "anak"
    menantu = "menantu"
    cucu = "cucu"
    orang_tua = "orang_tua"
    mertua = "mertua"
    famili_lain = "famili_lain"
    lainnya = "lainnya"


class MaritalStatus(StrEnum):
    """Marital status (*status perkawinan*)."""

    belum_kawin = "belum_kawin"
    kawin = "kawin"
    cerai_hidup = "cerai_hidup"
    cerai_mati = "cerai_mati"


class Education(StrEnum):
    """Highest education completed."""

    tidak_sekolah = "tidak_sekolah"
    sd = "sd"
    smp = "smp"
    sma = "sma"
    diploma = "diploma"
    sarjana = "sarjana"
    pascasarjana = "pascasarjana"


class DisabilityType(StrEnum):
    """Kinds of disability (UU 8/2016)."""

    fisik = "fisik"
    intelektual = "intelektual"
    mental = "mental"
    sensorik_netra = "sensorik_netra"
    sensorik_rungu = "sensorik_rungu"
    sensorik_wicara = "sensorik_wicara"
    ganda = "ganda"


class Severity(StrEnum):
    """Severity of a disability."""

    ringan = "ringan"
    sedang = "sedang"
    berat = "berat"


class RegistryStatus(StrEnum):
    """Standing in the national registry: listed, proposed (*usulan*), or local only."""

    national = "national"
    proposed = "proposed"
    local = "local"


class Floor(StrEnum):
    """Main floor material."""

    tanah = "tanah"
    bambu = "bambu"
    kayu = "kayu"
    semen = "semen"
    keramik = "keramik"


class Wall(StrEnum):
    """Main wall material."""

    bambu = "bambu"
    kayu = "kayu"
    tembok_tanpa_plester = "tembok_tanpa_plester"
    tembok = "tembok"


class Roof(StrEnum):
    """Main roof material."""

    ijuk_rumbia = "ijuk_rumbia"
    seng = "seng"
    asbes = "asbes"
    genteng = "genteng"
    beton = "beton"


class Toilet(StrEnum):
    """Toilet facility."""

    tidak_ada = "tidak_ada"
    bersama = "bersama"
    sendiri = "sendiri"


class WaterSource(StrEnum):
    """Drinking water source."""

    sungai = "sungai"
    sumur_tidak_terlindung = "sumur_tidak_terlindung"
    sumur_terlindung = "sumur_terlindung"
    ledeng = "ledeng"
    air_kemasan = "air_kemasan"


class LandOwnership(StrEnum):
    """Ownership of the house plot."""

    milik_sendiri = "milik_sendiri"
    sewa = "sewa"
    menumpang = "menumpang"
    lainnya = "lainnya"


class RecordStatus(StrEnum):
    """Active records count; inactive ones are kept for history, never deleted."""

    active = "active"
    inactive = "inactive"


class DeactivationReason(StrEnum):
    """Why a household or member left the registry."""

    died = "died"
    moved = "moved"
    duplicate = "duplicate"
    other = "other"
