"""The static ISO-4217 currency table Medusa's dashboard reads (``currency`` objects).

Mercato keeps no currency rows: every active ISO-4217 code of :mod:`mercato.domain.money` is
described here once, with its English name and symbols; ``decimal_digits`` is the code's
ISO-4217 exponent, the one every amount of that currency is stored with, and ``rounding`` is 0
(Mercato rounds to the minor unit only). A code without a well-known symbol shows its upper-case
code as both symbols."""

from __future__ import annotations

from dataclasses import dataclass

from mercato.domain.money import exponent


@dataclass(frozen=True, slots=True)
class Currency:
    code: str
    symbol: str
    symbol_native: str
    name: str
    decimal_digits: int
    rounding: int = 0


# code|symbol|native symbol|name ("" symbols: the upper-case code).
_TABLE = """
aed|AED|د.إ.‏|United Arab Emirates Dirham
afn|Af|؋|Afghan Afghani
all|ALL|Lek|Albanian Lek
amd|AMD|դր.|Armenian Dram
ang|NAƒ|NAƒ|Netherlands Antillean Guilder
aoa|AOA|Kz|Angolan Kwanza
ars|AR$|$|Argentine Peso
aud|AU$|$|Australian Dollar
awg|Afl.|Afl.|Aruban Florin
azn|man.|ман.|Azerbaijani Manat
bam|KM|KM|Bosnia-Herzegovina Convertible Mark
bbd|Bds$|$|Barbadian Dollar
bdt|Tk|৳|Bangladeshi Taka
bgn|BGN|лв.|Bulgarian Lev
bhd|BD|د.ب.‏|Bahraini Dinar
bif|FBu|FBu|Burundian Franc
bmd|BD$|$|Bermudan Dollar
bnd|BN$|$|Brunei Dollar
bob|Bs|Bs|Bolivian Boliviano
bov|||Bolivian Mvdol
brl|R$|R$|Brazilian Real
bsd|B$|$|Bahamian Dollar
btn|Nu.|Nu.|Bhutanese Ngultrum
bwp|BWP|P|Botswanan Pula
byn|Br|руб.|Belarusian Ruble
bzd|BZ$|$|Belize Dollar
cad|CA$|$|Canadian Dollar
cdf|CDF|FrCD|Congolese Franc
che|||WIR Euro
chf|CHF|CHF|Swiss Franc
chw|||WIR Franc
clf|UF|UF|Chilean Unit of Account (UF)
clp|CL$|$|Chilean Peso
cny|CN¥|CN¥|Chinese Yuan
cop|CO$|$|Colombian Peso
cou|||Colombian Real Value Unit
crc|₡|₡|Costa Rican Colón
cuc|CUC$|CUC$|Cuban Convertible Peso
cup|CU$|$|Cuban Peso
cve|CV$|CV$|Cape Verdean Escudo
czk|Kč|Kč|Czech Koruna
djf|Fdj|Fdj|Djiboutian Franc
dkk|Dkr|kr|Danish Krone
dop|RD$|RD$|Dominican Peso
dzd|DA|د.ج.‏|Algerian Dinar
egp|EGP|ج.م.‏|Egyptian Pound
ern|Nfk|Nfk|Eritrean Nakfa
etb|Br|Br|Ethiopian Birr
eur|€|€|Euro
fjd|FJ$|$|Fijian Dollar
fkp|FK£|£|Falkland Islands Pound
gbp|£|£|British Pound Sterling
gel|GEL|GEL|Georgian Lari
ghs|GH₵|GH₵|Ghanaian Cedi
gip|GI£|£|Gibraltar Pound
gmd|D|D|Gambian Dalasi
gnf|FG|FG|Guinean Franc
gtq|GTQ|Q|Guatemalan Quetzal
gyd|GY$|$|Guyanaese Dollar
hkd|HK$|$|Hong Kong Dollar
hnl|HNL|L|Honduran Lempira
htg|HTG|G|Haitian Gourde
huf|Ft|Ft|Hungarian Forint
idr|Rp|Rp|Indonesian Rupiah
ils|₪|₪|Israeli New Shekel
inr|Rs|₹|Indian Rupee
iqd|IQD|د.ع.‏|Iraqi Dinar
irr|IRR|﷼|Iranian Rial
isk|Ikr|kr|Icelandic Króna
jmd|J$|$|Jamaican Dollar
jod|JD|د.أ.‏|Jordanian Dinar
jpy|¥|￥|Japanese Yen
kes|Ksh|Ksh|Kenyan Shilling
kgs|KGS|сом|Kyrgystani Som
khr|KHR|៛|Cambodian Riel
kmf|CF|FC|Comorian Franc
kpw|KPW|₩|North Korean Won
krw|₩|₩|South Korean Won
kwd|KD|د.ك.‏|Kuwaiti Dinar
kyd|KY$|$|Cayman Islands Dollar
kzt|KZT|тңг.|Kazakhstani Tenge
lak|LAK|₭|Laotian Kip
lbp|LB£|ل.ل.‏|Lebanese Pound
lkr|SLRs|SL Re|Sri Lankan Rupee
lrd|LRD|$|Liberian Dollar
lsl|LSL|L|Lesotho Loti
lyd|LD|د.ل.‏|Libyan Dinar
mad|MAD|د.م.‏|Moroccan Dirham
mdl|MDL|MDL|Moldovan Leu
mga|MGA|MGA|Malagasy Ariary
mkd|MKD|MKD|Macedonian Denar
mmk|MMK|K|Myanmar Kyat
mnt|MNT|₮|Mongolian Tugrik
mop|MOP$|MOP$|Macanese Pataca
mru|MRU|UM|Mauritanian Ouguiya
mur|MURs|MURs|Mauritian Rupee
mvr|MVR|Rf|Maldivian Rufiyaa
mwk|MWK|K|Malawian Kwacha
mxn|MX$|$|Mexican Peso
mxv|||Mexican Investment Unit
myr|RM|RM|Malaysian Ringgit
mzn|MTn|MTn|Mozambican Metical
nad|N$|N$|Namibian Dollar
ngn|₦|₦|Nigerian Naira
nio|C$|C$|Nicaraguan Córdoba
nok|Nkr|kr|Norwegian Krone
npr|NPRs|नेरू|Nepalese Rupee
nzd|NZ$|$|New Zealand Dollar
omr|OMR|ر.ع.‏|Omani Rial
pab|B/.|B/.|Panamanian Balboa
pen|S/.|S/.|Peruvian Sol
pgk|PGK|K|Papua New Guinean Kina
php|₱|₱|Philippine Peso
pkr|PKRs|₨|Pakistani Rupee
pln|zł|zł|Polish Zloty
pyg|₲|₲|Paraguayan Guarani
qar|QR|ر.ق.‏|Qatari Riyal
ron|RON|RON|Romanian Leu
rsd|din.|дин.|Serbian Dinar
rub|RUB|₽|Russian Ruble
rwf|RWF|FR|Rwandan Franc
sar|SR|ر.س.‏|Saudi Riyal
sbd|SI$|$|Solomon Islands Dollar
scr|SRe|SR|Seychellois Rupee
sdg|SDG|SDG|Sudanese Pound
sek|Skr|kr|Swedish Krona
sgd|S$|$|Singapore Dollar
shp|SH£|£|Saint Helena Pound
sle|SLE|Le|Sierra Leonean Leone
sll|SLL|Le|Sierra Leonean Leone (1964—2022)
sos|Ssh|Ssh|Somali Shilling
srd|SRD|$|Surinamese Dollar
ssp|SSP|£|South Sudanese Pound
stn|STN|Db|São Tomé and Príncipe Dobra
svc|SVC|₡|Salvadoran Colón
syp|SY£|ل.س.‏|Syrian Pound
szl|SZL|E|Swazi Lilangeni
thb|฿|฿|Thai Baht
tjs|TJS|с.|Tajikistani Somoni
tmt|TMT|m|Turkmenistani Manat
tnd|DT|د.ت.‏|Tunisian Dinar
top|T$|T$|Tongan Paʻanga
try|₺|₺|Turkish Lira
ttd|TT$|$|Trinidad and Tobago Dollar
twd|NT$|NT$|New Taiwan Dollar
tzs|TSh|TSh|Tanzanian Shilling
uah|₴|₴|Ukrainian Hryvnia
ugx|USh|USh|Ugandan Shilling
usd|$|$|US Dollar
usn|||US Dollar (Next day)
uyi|||Uruguayan Peso (Indexed Units)
uyu|$U|$|Uruguayan Peso
uyw|||Uruguayan Nominal Wage Index Unit
uzs|UZS|UZS|Uzbekistani Som
ved|VED|Bs.D|Venezuelan Bolívar Digital
ves|VES|Bs.S|Venezuelan Bolívar Soberano
vnd|₫|₫|Vietnamese Dong
vuv|VUV|VT|Vanuatu Vatu
wst|WS$|WS$|Samoan Tala
xaf|FCFA|FCFA|CFA Franc BEAC
xcd|EC$|$|East Caribbean Dollar
xof|CFA|CFA|CFA Franc BCEAO
xpf|₣|₣|CFP Franc
yer|YR|ر.ي.‏|Yemeni Rial
zar|R|R|South African Rand
zmw|ZK|ZK|Zambian Kwacha
zwl|ZWL$|ZWL$|Zimbabwean Dollar
"""


def _parse(table: str) -> dict[str, Currency]:
    found: dict[str, Currency] = {}
    for line in table.strip().splitlines():
        code, symbol, native, name = line.split("|")
        found[code] = Currency(
            code=code,
            symbol=symbol or code.upper(),
            symbol_native=native or symbol or code.upper(),
            name=name,
            decimal_digits=exponent(code),
        )
    return found


CURRENCY_TABLE: dict[str, Currency] = _parse(_TABLE)


def currency(code: str) -> Currency | None:
    """The table's entry for a lower-case code, or None."""
    return CURRENCY_TABLE.get(code)
