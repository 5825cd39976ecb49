"""Name lists, region sets and weighted tables that the demo households are drawn from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

SEED_REGENCIES: dict[str, str] = {
    "7373": "Kota Palopo",
    "7303": "Kab. Bantaeng",
    "7310": "Kab. Pangkajene Kepulauan",
    "7309": "Kab. Maros",
    "6303": "Kab. Banjar",
}

# Rough population weights (thousands) so that households spread across regencies believably.
POPULATION = {"7373": 190, "7303": 200, "7310": 350, "7309": 400, "6303": 580}
CITIES = frozenset({"7373"})
# Regency capitals: a few kelurahan there, desa elsewhere.
CAPITALS = frozenset({"730302", "731004", "730914", "630305"})
# Makassar-speaking areas, where adults often carry a *daeng* title in their name.
MAKASSAR = frozenset({"7303", "7309", "7310", "7371"})
# Migrants' NIK come from these regencies as well as the seed ones.
ORIGIN_REGENCIES = ("7371", "6371")

ISLAND = frozenset({"731001", "731002", "731003", "731013"})
URBAN = frozenset(
    {"737301", "737302", "737303", "737305", "737306", "737309", "730302", "731004"}
    | {"730914", "730901", "730904", "630305", "630302"}
)
COASTAL = frozenset(
    {"730301", "730305", "731006", "731007", "731008", "731009", "731011", "730905"}
    | {"730912", "730908", "630301"}
)
UPLAND = frozenset({"630309", "630311", "630316", "630317", "630318", "630308"})
FLOOD_PRONE = frozenset(
    {"630301", "630303", "630304", "630305", "630313", "630319", "730912", "730905", "737303"}
)
ADAT = frozenset({"630311", "630317"})  # Dayak Meratus communities


# --- names --------------------------------------------------------------------------


def words(text: str) -> tuple[str, ...]:
    """The comma-separated items of `text` (keeps long name lists compact)."""
    return tuple(item.strip() for item in text.split(","))


STREETS = {
    "7373": words(
        "Andi Djemma, Sawerigading, Ahmad Yani, Dr. Ratulangi, Opu Tosappaile, Samiun,"
        " Landak Baru, Kelapa, Diponegoro, Kartini, Jenderal Sudirman, Merdeka, Pongsimpin,"
        " Bakau, Cakalang, Ponjalae, Anggrek, Andi Kambo"
    ),
    "7303": words(
        "Poros Bantaeng, Pahlawan, Raya Lanto, Karaeng Loe, Elang, Mawar, Andi Mannappiang,"
        " Kartini, Seruni, Teratai, Pantai Seruni, Delima"
    ),
    "7310": words(
        "Poros Pangkep, Sultan Hasanuddin, Kemakmuran, Andi Mauraga, Kartini, Bambu Runcing,"
        " Pendidikan, Tumpang Sari, Veteran, Masjid Raya"
    ),
    "7309": words(
        "Poros Maros, Dr. Ratulangi, Jenderal Sudirman, Poros Bantimurung, Asoka,"
        " Lanto Daeng Pasewang, Sultan Hasanuddin, Dahlia, Pemuda, Nusantara"
    ),
    "6303": words(
        "Ahmad Yani, Martapura Lama, Sukaramai, Menteri Empat, Pangeran Hidayatullah,"
        " Sekumpul, Pendidikan, Perwira, Gubernur Syarkawi, Tanjung Rema, Pasayangan"
    ),
}
GANG = words("Amal, Sepakat, Mufakat, Keluarga, Damai, Harapan, Rahmat, Hidayah")


@dataclass(frozen=True)
class Names:
    """First names by sex and generation, second names appended to some, noble titles."""

    male_old: tuple[str, ...]
    female_old: tuple[str, ...]
    male_young: tuple[str, ...]
    female_young: tuple[str, ...]
    second: tuple[str, ...]
    title_male: str
    title_female: str


BUGIS = Names(
    male_old=words(
        "Muhammad, Abdul Rahman, Ahmad, Syamsul, Hasanuddin, Baharuddin, Syamsuddin, Nasruddin,"
        " Jamaluddin, Kamaruddin, Saharuddin, Tajuddin, Sudirman, Mustari, Nurdin, Rusdi,"
        " Basri, Hamzah, Usman, Yusuf, Zainal, Arifin, Abdullah, Muh. Amin, Hasan, Ramli,"
        " Jufri, Mansur, Salam, Sappe, Beddu, Tahir, Lahamuddin, Ambo Dalle, Ambo Tang,"
        " Alimuddin, Haris, Irwan, Arman, Asri"
    ),
    female_old=words(
        "Nurhayati, Hasnah, Hasmawati, Nurjannah, Sitti Aminah, Sumarni, Rosmini, Haslinda,"
        " Nurlina, Rahmawati, Marlina, Suriani, Hadijah, Kasmawati, Nurmiati, Rismawati,"
        " Darmawati, Irmawati, Mardiana, Nuraeni, Salmah, Fatmawati, Hasnawati, Hajrah, Murni,"
        " Nurbaya, Halija, Masniah, Saenab, Syamsiah, Sitti Rahmah, Becce, Indo Tang,"
        " Hamsinah, Jumriah, Rosdiana"
    ),
    male_young=words(
        "Muhammad Fajar, Muh. Rizky, Ahmad Fauzan, Syahrul, Ilham, Akbar, Fadli, Aswar,"
        " Muh. Alif, Rafli, Aldi, Arya, Fikri, Nur Alam, Muh. Ikhsan, Reski, Wahyu, Irfan,"
        " Dimas, Zaki, Muhammad Yusran, Andika, Rahmat, Muh. Syukur, Ardiansyah, Kurniawan,"
        " Muh. Tegar, Gilang, Nur Fadli, Muh. Arsyad, Asrul, Fahri, Rendi, Muh. Farhan, Adnan,"
        " Syawal, Muh. Ridwan, Alfian"
    ),
    female_young=words(
        "Nur Fadillah, Aisyah, Nabila, Zahra, Aqila, Putri, Alya, Nurul Hidayah, Reski Amalia,"
        " Sri Wahyuni, Nurul Izzah, Ainun, Afifah, Musdalifah, Hasriani, Nurul Fitri,"
        " Fitriani, Rahmi, Indah, Cahaya, Nur Annisa, Andini, Nurhikmah, Wulandari, Ayu Lestari,"
        " Nurfadhilah, Rahmadani, Dewi Sartika, Nur Aulia, Anisa, Hikmawati, Sulfiani, Asmirah,"
        " Nurhalisa, Dian Pratiwi, Irma Suryani"
    ),
    second=words(
        "Latif, Lamang, Saleh, Rasyid, Ali, Amir, Hamid, Kadir, Said, Malik, Syarif, Tahir,"
        " Nur, Ramadhan, Hakim, Mappe, Pawelloi, Sultan, Rauf"
    ),
    title_male="Andi",
    title_female="Andi",
)
BANJAR = Names(
    male_old=words(
        "Muhammad, Ahmad, Abdul Hadi, Rahmadi, Syahrani, Hairani, Masrani, Mahlan, Jumberi,"
        " Saberi, Alimuddin, Hairullah, Noorhadi, Zainuddin, Abdul Rasyid, Fahrul, Bahrani,"
        " Samsuni, Arbain, Jailani, Asmuni, Husin, Hamdan, Darmansyah, Rusdiansyah, Yusran,"
        " Syamsul, Masdar, Muhammad Noor, Saripudin"
    ),
    female_old=words(
        "Siti, Norhayati, Nurhasanah, Rusdiana, Mariatul Kiptiah, Jamilah, Fatimah,"
        " Rabiatul Adawiyah, Norlatifah, Hamidah, Masitah, Salasiah, Rahmah, Nurjannah,"
        " Mahdiah, Syarifah, Arbainah, Junaidah, Halimah, Saudah, Hadijah, Mastura, Rusmiati,"
        " Norjannah, Hayatun Nufus, Aminah, Masliani"
    ),
    male_young=words(
        "Muhammad Rizky, Ahmad Fauzan, Muhammad Noor, Rizal, Rahmat, Muhammad Alfian, Fadli,"
        " Ahmad Ridho, Muhammad Syahid, Aulia Rahman, Muhammad Azmi, Rafi, Khairil Anwar,"
        " Naufal, Rahmadani, Muhammad Ilmi, Ahmad Zaini, Fikri, Muhammad Hafiz, Ahmad Rifani,"
        " Muhammad Iqbal, Rizki Ananda, Muhammad Arsyad, Ahmad Syauqi, Muhammad Fadhil,"
        " Akhmad Riduan, Muhammad Rafi, Rahmadi, Muhammad Zidan"
    ),
    female_young=words(
        "Nor Aida, Maulida, Khairunnisa, Siti Nurhaliza, Nabila, Aulia, Zahra, Rahmi,"
        " Nur Azizah, Hafizah, Nadia, Mariana, Salsabila, Annisa, Fitria, Rizka, Noor Latifah,"
        " Nor Hikmah, Husnul Khatimah, Nurul Aini, Siti Aisyah, Rabiatul Husna, Noor Jannah,"
        " Mahmudah, Raudatul Jannah, Siti Rahmah, Fatimah Azzahra, Norhalisa, Nurul Hidayah,"
        " Hairunnisa, Aulia Rahmah"
    ),
    second=words(
        "Noor, Rahman, Hidayat, Fauzi, Rahim, Hasan, Husin, Jaya, Ansyari, Arsyad, Effendi,"
        " Ramadhani, Hamdi, Syahrani, Hairani, Rifani, Nafarin"
    ),
    title_male="Gusti",
    title_female="Antung",
)
# Makassar *paddaengang* names, carried after the title Daeng.
DAENG = words(
    "Nai, Tutu, Sila, Ngalle, Bali, Rurung, Sikki, Tompo, Lau, Bunga, Kebo, Ngai, Sompa,"
    " Tayang, Baji, Gassing, Ngerang, Caya, Lino, Mene, Rannu, Sanga, Matutu, Tika, Ngugi,"
    " Raja, Sangging, Jarre, Te'ne"
)


# --- weighted tables ------------------------------------------------------------------


def expand(weights: Mapping[T, int]) -> tuple[T, ...]:
    """A tuple where each value appears `weight` times, for `t[int(random() * len(t))]`."""
    return tuple(value for value, weight in weights.items() for _ in range(weight))


# Household size by the head's age (<30, 30-44, 45-59, 60+): overall mostly 3-5.
SIZE = (
    expand({1: 8, 2: 25, 3: 35, 4: 22, 5: 7, 6: 3}),
    expand({1: 4, 2: 8, 3: 20, 4: 30, 5: 20, 6: 10, 7: 5, 8: 2, 9: 1}),
    expand({1: 5, 2: 12, 3: 18, 4: 24, 5: 18, 6: 11, 7: 6, 8: 4, 9: 2}),
    expand({1: 14, 2: 22, 3: 20, 4: 17, 5: 12, 6: 7, 7: 4, 8: 2, 9: 2}),
)


def _head_age_weight(age: int) -> int:
    if age < 30:
        return (age - 19) * 3 // 2  # few heads in their early twenties
    if age <= 55:
        return 20
    return max(2, 20 - (age - 55) * 3 // 4)


HEAD_AGE = expand({age: _head_age_weight(age) for age in range(20, 81)})
SPOUSE_GAP = expand({-3: 1, -2: 2, -1: 3, 0: 4, 1: 6, 2: 8, 3: 8, 4: 7, 5: 6, 6: 4, 8: 3, 10: 2})
CHILD_GAP = expand({1: 2, 2: 5, 3: 5, 4: 3, 5: 2, 6: 1})
DESIL = expand({1: 22, 2: 20, 3: 16, 4: 13, 5: 10, 6: 7, 7: 5, 8: 3, 9: 2, 10: 2})
# Noble titles (Andi, Gusti, Antung) pass by descent, so in-laws do not carry the family's.
BLOOD = frozenset({"kepala_keluarga", "anak", "cucu", "orang_tua", "famili_lain"})

# Housing by wealth band (0: desil 1-2, 1: 3-4, 2: 5-7, 3: 8-10); wooden stilt houses
# (*rumah panggung*) are common in both provinces, so `kayu` stays frequent.
FLOOR = (
    expand({"tanah": 18, "bambu": 12, "kayu": 45, "semen": 22, "keramik": 3}),
    expand({"tanah": 8, "bambu": 6, "kayu": 44, "semen": 32, "keramik": 10}),
    expand({"tanah": 2, "bambu": 2, "kayu": 36, "semen": 30, "keramik": 30}),
    expand({"kayu": 20, "semen": 20, "keramik": 60}),
)
WALL = (
    expand({"bambu": 22, "kayu": 55, "tembok_tanpa_plester": 15, "tembok": 8}),
    expand({"bambu": 8, "kayu": 52, "tembok_tanpa_plester": 20, "tembok": 20}),
    expand({"bambu": 2, "kayu": 38, "tembok_tanpa_plester": 15, "tembok": 45}),
    expand({"kayu": 20, "tembok_tanpa_plester": 5, "tembok": 75}),
)
ROOF = (
    expand({"ijuk_rumbia": 15, "seng": 78, "asbes": 5, "genteng": 2}),
    expand({"ijuk_rumbia": 5, "seng": 82, "asbes": 8, "genteng": 5}),
    expand({"ijuk_rumbia": 1, "seng": 74, "asbes": 10, "genteng": 12, "beton": 3}),
    expand({"seng": 55, "asbes": 8, "genteng": 25, "beton": 12}),
)
TOILET = (
    expand({"tidak_ada": 30, "bersama": 30, "sendiri": 40}),
    expand({"tidak_ada": 12, "bersama": 23, "sendiri": 65}),
    expand({"tidak_ada": 3, "bersama": 10, "sendiri": 87}),
    expand({"bersama": 3, "sendiri": 97}),
)
WATER = (
    expand({"sungai": 12, "sumur_tidak_terlindung": 28, "sumur_terlindung": 35, "ledeng": 15})
    + expand({"air_kemasan": 10}),
    expand({"sungai": 5, "sumur_tidak_terlindung": 15, "sumur_terlindung": 40, "ledeng": 22})
    + expand({"air_kemasan": 18}),
    expand({"sungai": 1, "sumur_tidak_terlindung": 5, "sumur_terlindung": 34, "ledeng": 30})
    + expand({"air_kemasan": 30}),
    expand({"sumur_terlindung": 20, "ledeng": 35, "air_kemasan": 45}),
)
ELECTRICITY = (
    expand({0: 8, 450: 70, 900: 20, 1300: 2}),
    expand({0: 3, 450: 50, 900: 40, 1300: 7}),
    expand({450: 20, 900: 50, 1300: 25, 2200: 5}),
    expand({900: 25, 1300: 45, 2200: 25, 3500: 5}),
)
LAND = (
    expand({"milik_sendiri": 62, "sewa": 6, "menumpang": 28, "lainnya": 4}),
    expand({"milik_sendiri": 74, "sewa": 9, "menumpang": 14, "lainnya": 3}),
    expand({"milik_sendiri": 82, "sewa": 10, "menumpang": 6, "lainnya": 2}),
    expand({"milik_sendiri": 88, "sewa": 9, "menumpang": 2, "lainnya": 1}),
)
# Monthly household income (rupiah) by desil: (minimum, spread), rounded to 50,000.
INCOME = {
    1: (300_000, 900_000),
    2: (700_000, 1_100_000),
    3: (1_100_000, 1_300_000),
    4: (1_500_000, 1_500_000),
    5: (1_900_000, 1_700_000),
    6: (2_400_000, 1_800_000),
    7: (2_900_000, 1_900_000),
    8: (3_400_000, 1_900_000),
    9: (3_900_000, 1_900_000),
    10: (4_400_000, 1_600_000),
}

# Highest education of adults by birth cohort (<1970, 1970-1994, >=1995) and wealth band.
EDU_ADULT = (
    (
        expand({"tidak_sekolah": 40, "sd": 45, "smp": 10, "sma": 5}),
        expand({"tidak_sekolah": 28, "sd": 47, "smp": 14, "sma": 10, "diploma": 1}),
        expand({"tidak_sekolah": 15, "sd": 40, "smp": 20, "sma": 20, "sarjana": 5}),
        expand({"tidak_sekolah": 5, "sd": 25, "smp": 20, "sma": 32, "diploma": 6})
        + expand({"sarjana": 11, "pascasarjana": 1}),
    ),
    (
        expand({"tidak_sekolah": 12, "sd": 48, "smp": 24, "sma": 15, "sarjana": 1}),
        expand({"tidak_sekolah": 6, "sd": 36, "smp": 27, "sma": 27, "diploma": 2})
        + expand({"sarjana": 2}),
        expand({"tidak_sekolah": 2, "sd": 20, "smp": 23, "sma": 40, "diploma": 5})
        + expand({"sarjana": 10}),
        expand({"sd": 6, "smp": 10, "sma": 38, "diploma": 10, "sarjana": 32})
        + expand({"pascasarjana": 4}),
    ),
    (
        expand({"tidak_sekolah": 4, "sd": 26, "smp": 34, "sma": 34, "sarjana": 2}),
        expand({"tidak_sekolah": 2, "sd": 14, "smp": 30, "sma": 48, "diploma": 2})
        + expand({"sarjana": 4}),
        expand({"sd": 6, "smp": 18, "sma": 54, "diploma": 7, "sarjana": 15}),
        expand({"sd": 2, "smp": 6, "sma": 42, "diploma": 10, "sarjana": 38})
        + expand({"pascasarjana": 2}),
    ),
)

# Occupations of working-age men by livelihood zone; women not keeping house draw from these
# too, with `ibu rumah tangga` handled separately.
ZONE_WORK = {
    "urban": expand(
        {"pedagang": 18, "wiraswasta": 16, "buruh harian lepas": 16, "karyawan swasta": 14}
        | {"sopir": 6, "pengemudi ojek": 8, "PNS": 5, "guru": 3, "tukang batu": 5}
        | {"tukang kayu": 3, "nelayan": 2, "tidak bekerja": 4}
    ),
    "rural": expand(
        {"petani": 48, "buruh tani": 14, "buruh harian lepas": 10, "pedagang": 7}
        | {"peternak": 4, "tukang batu": 4, "wiraswasta": 4, "pengemudi ojek": 3}
        | {"guru": 2, "PNS": 1, "tidak bekerja": 3}
    ),
    "coastal": expand(
        {"nelayan": 30, "pembudidaya rumput laut": 12, "petambak": 10, "petani": 16}
        | {"buruh harian lepas": 12, "pedagang": 8, "wiraswasta": 4, "pengemudi ojek": 3}
        | {"guru": 1, "tidak bekerja": 4}
    ),
    "island": expand(
        {"nelayan": 62, "pembudidaya rumput laut": 12, "pedagang": 7}
        | {"buruh harian lepas": 8, "tukang kayu": 4, "guru": 2, "tidak bekerja": 5}
    ),
    "upland": expand(
        {"pekebun karet": 34, "petani": 24, "penambang": 8, "buruh harian lepas": 12}
        | {"pedagang": 6, "peternak": 4, "wiraswasta": 4, "pengemudi ojek": 3}
        | {"guru": 2, "tidak bekerja": 3}
    ),
}
DISABILITY = expand(
    {"fisik": 40, "sensorik_netra": 14, "sensorik_rungu": 12, "sensorik_wicara": 6}
    | {"intelektual": 10, "mental": 10, "ganda": 8}
)
SEVERITY = expand({"ringan": 45, "sedang": 35, "berat": 20})
CHRONIC = expand(
    {"hipertensi": 38, "diabetes melitus": 20, "asma": 8, "TBC": 6, "penyakit jantung": 9}
    | {"stroke": 8, "gagal ginjal": 4, "kanker": 3, "asam urat": 4}
)
