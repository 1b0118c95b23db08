"""The four field forms (visit, site inspection, harvest, kit sale) as XLSForms.

Each form is a list of survey rows and its fixed choice lists; the programme's lists
(villages, groups, kits, grades, buyers) are filled in from `ProgrammeData` when the workbook
is written. Labels are given in English, Spanish, French and Portuguese (XLSForm's own
``label::Language (code)`` columns), so the phone shows the enumerator's language.

Field names are the contract with `alianza.fieldforms.submissions`: they are unique within a
form (a group or repeat only adds a prefix in the export), and the parser reads them back
by their last path segment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from openpyxl import Workbook

from alianza.fieldforms.programme import ProgrammeData

LANGUAGES = ("English (en)", "Español (es)", "Français (fr)", "Português (pt)")
FormName = Literal["visit", "inspection", "harvest", "kit_sale"]
FORM_NAMES: tuple[FormName, ...] = ("visit", "inspection", "harvest", "kit_sale")
# The site block is a group: exports name its fields site/village (Kobo), site-village (Central).
SITE_GROUP = "site"
HARVEST_REPEAT = "products"


@dataclass(frozen=True)
class Text:
    """One text in the four languages, in the order of LANGUAGES."""

    en: str
    es: str
    fr: str
    pt: str

    def values(self) -> tuple[str, str, str, str]:
        return (self.en, self.es, self.fr, self.pt)


@dataclass(frozen=True)
class Row:
    """One survey row of an XLSForm."""

    type: str
    name: str
    label: Text | None = None
    required: bool = False
    constraint: str = ""
    constraint_message: Text | None = None
    relevant: str = ""
    appearance: str = ""
    choice_filter: str = ""
    default: str = ""
    parameters: str = ""
    calculation: str = ""


@dataclass(frozen=True)
class FormDefinition:
    name: FormName
    title: Text
    rows: list[Row]
    fixed_choices: dict[str, list[tuple[str, Text]]] = field(default_factory=dict)

    @property
    def form_id(self) -> str:
        return f"alianza_{self.name}"


NOT_NEGATIVE = Text(
    "Must be 0 or more", "Debe ser 0 o más", "Doit être 0 ou plus", "Deve ser 0 ou mais"
)
NOT_FUTURE = Text(
    "Cannot be in the future",
    "No puede ser en el futuro",
    "Ne peut pas être dans le futur",
    "Não pode ser no futuro",
)

METADATA = [
    Row("start", "start"),
    Row("end", "end"),
    Row("today", "today"),
    Row("deviceid", "deviceid"),
    Row("username", "username"),
]


def _date(name: str, label: Text) -> Row:
    return Row(
        "date",
        name,
        label,
        required=True,
        constraint=". <= today()",
        constraint_message=NOT_FUTURE,
        default="today()",
    )


def _site(location_required: bool, with_group: bool) -> list[Row]:
    rows = [
        Row("begin_group", SITE_GROUP, Text("Where", "Dónde", "Où", "Onde")),
        Row(
            "select_one villages",
            "village",
            Text("Village", "Aldea", "Village", "Aldeia"),
            required=True,
            appearance="minimal",
        ),
    ]
    if with_group:
        rows.append(
            Row(
                "select_one groups",
                "group",
                Text("Group", "Grupo", "Groupe", "Grupo"),
                choice_filter="village=${village}",
                appearance="minimal",
            )
        )
    rows += [
        Row(
            "geopoint",
            "location",
            Text("GPS location", "Ubicación GPS", "Position GPS", "Localização GPS"),
            required=location_required,
        ),
        Row("end_group", ""),
    ]
    return rows


FARMER_QR = Row(
    "barcode",
    "farmer_qr",
    Text(
        "Scan the farmer's card (QR code)",
        "Escanee la tarjeta del agricultor (código QR)",
        "Scannez la carte de l'agriculteur (code QR)",
        "Leia o cartão do agricultor (código QR)",
    ),
    required=True,
)
KIT = Row("select_one kits", "kit", Text("Kit", "Kit", "Kit", "Kit"), required=True)
NOTES = Row("text", "notes", Text("Notes", "Notas", "Remarques", "Notas"), appearance="multiline")

VISIT = FormDefinition(
    "visit",
    Text("Agronomist visit", "Visita del agrónomo", "Visite de l'agronome", "Visita do agrónomo"),
    [
        *METADATA,
        _date(
            "visit_date",
            Text("Date of the visit", "Fecha de la visita", "Date de la visite", "Data da visita"),
        ),
        *_site(location_required=False, with_group=True),
        Row(
            "select_one visit_types",
            "visit_type",
            Text("Kind of visit", "Tipo de visita", "Type de visite", "Tipo de visita"),
            required=True,
        ),
        Row(
            FARMER_QR.type,
            FARMER_QR.name,
            FARMER_QR.label,
            required=True,
            relevant="${visit_type} = 'farm_visit'",
        ),
        Row(
            "integer",
            "attendees",
            Text(
                "People present", "Personas presentes", "Personnes présentes", "Pessoas presentes"
            ),
            required=True,
            constraint=". >= 0",
            constraint_message=NOT_NEGATIVE,
            relevant="${visit_type} != 'farm_visit'",
        ),
        NOTES,
    ],
    {
        "visit_types": [
            (
                "group_meeting",
                Text("Group meeting", "Reunión de grupo", "Réunion de groupe", "Reunião de grupo"),
            ),
            (
                "farm_visit",
                Text("Farm visit", "Visita a la finca", "Visite de ferme", "Visita à machamba"),
            ),
            (
                "demo_site",
                Text(
                    "Demonstration site",
                    "Parcela demostrativa",
                    "Site de démonstration",
                    "Campo de demonstração",
                ),
            ),
            ("training", Text("Training", "Capacitación", "Formation", "Formação")),
        ]
    },
)

INSPECTION = FormDefinition(
    "inspection",
    Text("Site inspection", "Inspección del sitio", "Inspection du site", "Inspeção do local"),
    [
        *METADATA,
        _date(
            "inspection_date",
            Text(
                "Date of the inspection",
                "Fecha de la inspección",
                "Date de l'inspection",
                "Data da inspeção",
            ),
        ),
        *_site(location_required=True, with_group=False),
        FARMER_QR,
        KIT,
        Row(
            "select_one conditions",
            "kit_condition",
            Text("State of the kit", "Estado del kit", "État du kit", "Estado do kit"),
            required=True,
        ),
        Row(
            "integer",
            "units_seen",
            Text(
                "Units seen in use",
                "Unidades vistas en uso",
                "Unités vues en service",
                "Unidades vistas em uso",
            ),
            required=True,
            constraint=". >= 0",
            constraint_message=NOT_NEGATIVE,
        ),
        Row(
            "image",
            "photo",
            Text("Photo of the site", "Foto del sitio", "Photo du site", "Foto do local"),
            required=True,
            parameters="max-pixels=1024",  # smaller uploads over rural networks
        ),
        NOTES,
    ],
    {
        "conditions": [
            ("in_use", Text("In use", "En uso", "En service", "Em uso")),
            (
                "needs_repair",
                Text("Needs repair", "Necesita reparación", "À réparer", "Precisa de reparação"),
            ),
            ("not_in_use", Text("Not in use", "Sin uso", "Pas en service", "Sem uso")),
            ("not_found", Text("Not found", "No encontrado", "Introuvable", "Não encontrado")),
        ]
    },
)

HARVEST = FormDefinition(
    "harvest",
    Text("Harvest and sales", "Cosecha y ventas", "Récolte et ventes", "Colheita e vendas"),
    [
        *METADATA,
        _date(
            "harvest_date",
            Text(
                "Date of the harvest",
                "Fecha de la cosecha",
                "Date de la récolte",
                "Data da colheita",
            ),
        ),
        *_site(location_required=False, with_group=False),
        FARMER_QR,
        Row(
            "begin_repeat",
            HARVEST_REPEAT,
            Text("Product harvested", "Producto cosechado", "Produit récolté", "Produto colhido"),
        ),
        KIT,
        Row(
            "decimal",
            "quantity",
            Text(
                "Quantity harvested (product's unit)",
                "Cantidad cosechada (unidad del producto)",
                "Quantité récoltée (unité du produit)",
                "Quantidade colhida (unidade do produto)",
            ),
            required=True,
            constraint=". >= 0",
            constraint_message=NOT_NEGATIVE,
        ),
        Row(
            "select_one grades",
            "grade",
            Text("Grade", "Calidad", "Qualité", "Qualidade"),
            required=True,
        ),
        Row(
            "decimal",
            "quantity_sold",
            Text("Quantity sold", "Cantidad vendida", "Quantité vendue", "Quantidade vendida"),
            required=True,
            constraint=". >= 0 and . <= ${quantity}",
            constraint_message=Text(
                "Between 0 and the quantity harvested",
                "Entre 0 y la cantidad cosechada",
                "Entre 0 et la quantité récoltée",
                "Entre 0 e a quantidade colhida",
            ),
            default="0",
        ),
        Row(
            "decimal",
            "price",
            Text(
                "Price per unit (local currency)",
                "Precio por unidad (moneda local)",
                "Prix par unité (monnaie locale)",
                "Preço por unidade (moeda local)",
            ),
            required=True,
            constraint=". >= 0",
            constraint_message=NOT_NEGATIVE,
            relevant="${quantity_sold} > 0",
        ),
        Row(
            "select_one buyers",
            "buyer",
            Text("Buyer", "Comprador", "Acheteur", "Comprador"),
            required=True,
            relevant="${quantity_sold} > 0",
        ),
        Row("end_repeat", ""),
    ],
)

KIT_SALE = FormDefinition(
    "kit_sale",
    Text("Kit sale", "Venta de kit", "Vente de kit", "Venda de kit"),
    [
        *METADATA,
        _date(
            "sale_date",
            Text("Date of the sale", "Fecha de la venta", "Date de la vente", "Data da venda"),
        ),
        *_site(location_required=False, with_group=True),
        # the district of the village chosen (a column of the villages list), so that the
        # supplier list shows that district's suppliers only
        Row(
            "calculate",
            "district",
            calculation="instance('villages')/root/item[name = ${village}]/district",
        ),
        FARMER_QR,
        KIT,
        Row(
            "select_one suppliers",
            "supplier",
            Text(
                "Supplier (leave empty if the district has only one)",
                "Proveedor (déjelo vacío si el distrito tiene uno solo)",
                "Fournisseur (laisser vide si le district n'en a qu'un)",
                "Fornecedor (deixe vazio se o distrito tiver apenas um)",
            ),
            choice_filter="selected(districts, ${district})",
            appearance="minimal",
        ),
        Row(
            "integer",
            "units",
            Text("Units", "Unidades", "Unités", "Unidades"),
            required=True,
            constraint=". >= 1",
            constraint_message=Text("At least 1", "Al menos 1", "Au moins 1", "Pelo menos 1"),
            default="1",
        ),
        Row(
            "decimal",
            "amount",
            Text(
                "Amount paid (local currency)",
                "Monto pagado (moneda local)",
                "Montant payé (monnaie locale)",
                "Valor pago (moeda local)",
            ),
            required=True,
            constraint=". >= 0",
            constraint_message=NOT_NEGATIVE,
        ),
        Row(
            "select_one payment_methods",
            "payment_method",
            Text("Paid by", "Forma de pago", "Mode de paiement", "Forma de pagamento"),
            required=True,
        ),
        Row(
            "text",
            "transaction_id",
            Text(
                "Mobile-money transaction ID",
                "Código de la transacción móvil",
                "Identifiant de la transaction mobile",
                "Código da transação móvel",
            ),
            required=True,
            relevant="${payment_method} = 'mobile_money'",
        ),
        Row(
            "select_one buyers",
            "prepaid_by",
            Text(
                "Prepaid by (off-taker)",
                "Prepagado por (comprador)",
                "Prépayé par (acheteur)",
                "Pré-pago por (comprador)",
            ),
            required=True,
            relevant="${payment_method} = 'prepayment'",
        ),
    ],
    {
        "payment_methods": [
            ("cash", Text("Cash", "Efectivo", "Espèces", "Dinheiro")),
            (
                "mobile_money",
                Text("Mobile money", "Dinero móvil", "Mobile money", "Dinheiro móvel"),
            ),
            (
                "prepayment",
                Text(
                    "Off-taker prepayment",
                    "Prepago del comprador",
                    "Préfinancement de l'acheteur",
                    "Pré-pagamento do comprador",
                ),
            ),
        ]
    },
)

FORMS: dict[FormName, FormDefinition] = {
    form.name: form for form in (VISIT, INSPECTION, HARVEST, KIT_SALE)
}


def _same(name: str) -> Text:
    return Text(name, name, name, name)


def programme_choices(
    data: ProgrammeData,
) -> dict[str, list[tuple[str, Text, dict[str, str]]]]:
    """The programme's choice lists: (name, label, filter columns) per list."""
    return {
        "villages": [(v.id, _same(v.name), {"district": v.district}) for v in data.villages],
        "groups": [(g.id, _same(g.name), {"village": g.village}) for g in data.groups],
        "kits": [(k.id, _same(k.name), {"product": k.product}) for k in data.kits],
        "grades": [(g.id, _same(g.name), {}) for g in data.grades],
        "buyers": [(b.id, _same(b.name), {}) for b in data.buyers],
        "suppliers": [
            (supplier.id, _same(supplier.name), {"districts": " ".join(supplier.districts)})
            for supplier in data.suppliers
        ],
    }


# Lists a form may do without: a question choosing from one the programme left empty is left
# out of the form (pyxform refuses a choice list with no choices).
OPTIONAL_LISTS = {"suppliers"}


def write_xlsform(form: FormDefinition, data: ProgrammeData, path: Path, version: str) -> None:
    """Write the form as an XLSForm workbook (survey, choices and settings sheets)."""
    workbook = Workbook()
    survey = workbook.active
    assert survey is not None
    survey.title = "survey"
    labels = [f"label::{language}" for language in LANGUAGES]
    messages = [f"constraint_message::{language}" for language in LANGUAGES]
    survey.append(
        [
            "type",
            "name",
            *labels,
            "required",
            "constraint",
            *messages,
            "relevant",
            "appearance",
            "choice_filter",
            "default",
            "parameters",
            "calculation",
        ]
    )
    available = programme_choices(data)
    used_lists = set()
    for row in form.rows:
        if row.type.startswith("select_one "):
            list_name = row.type.split(" ", 1)[1]
            if list_name in OPTIONAL_LISTS and not available[list_name]:
                continue
            used_lists.add(list_name)
        survey.append(
            [
                row.type,
                row.name,
                *(row.label.values() if row.label else ("",) * 4),
                "yes" if row.required else "",
                row.constraint,
                *(row.constraint_message.values() if row.constraint_message else ("",) * 4),
                row.relevant,
                row.appearance,
                row.choice_filter,
                row.default,
                row.parameters,
                row.calculation,
            ]
        )
    lists = {name: entries for name, entries in available.items() if name in used_lists}
    for name, fixed in form.fixed_choices.items():
        lists[name] = [(choice, label, {}) for choice, label in fixed]
    filter_columns = sorted(
        {column for entries in lists.values() for _, _, f in entries for column in f}
    )
    choices = workbook.create_sheet("choices")
    choices.append(["list_name", "name", *labels, *filter_columns])
    for list_name, entries in lists.items():
        for choice, label, filters in entries:
            choices.append(
                [list_name, choice, *label.values(), *(filters.get(c, "") for c in filter_columns)]
            )
    settings = workbook.create_sheet("settings")
    settings.append(["form_title", "form_id", "version", "default_language", "instance_name"])
    settings.append(
        [
            f"{form.title.en} - {data.programme}",
            form.form_id,
            version,
            LANGUAGES[0],
            f"concat('{form.name}-', ${{today}})",
        ]
    )
    workbook.save(path)
