"""Code lists of the registry (Indonesian terms of art kept as codes).

PPKS (*Pemerlu Pelayanan Kesejahteraan Sosial*, people in need of social welfare services)
are the 26 categories of Permensos 8/2012 (in `selaras_shared.codes`, shared with the
referral service). *Desil* is the welfare decile (1 = poorest)
of the national social registry (DTKS, now DTSEN).
"""

from __future__ import annotations

from enum import StrEnum

# Re-exported: the registry's modules keep finding every code list here.
from selaras_shared.codes import Ppks as Ppks


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
