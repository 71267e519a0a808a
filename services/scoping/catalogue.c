/*
 * The entity-type catalogue as one static table. Source: Directive (EU)
 * 2022/2555 Annex I and II (OJ L 333, 27.12.2022, p. 80), Art 2(2)-(5),
 * 3(1), 6(35), 26(1), and Implementing Regulation (EU) 2024/2690 Art 1; the
 * codes are Bulwark's own (<sector>.<subsector>.<type>). Trust service providers
 * appear three times: digital_infra.tsp, whose activity says whether the
 * service is qualified (the shape the REST contract shows), and the two variants
 * digital_infra.tsp.qualified and digital_infra.tsp.non_qualified, which say
 * it in the code.
 */
#include "catalogue.h"

#include <string.h>

#define ANNEX_I BULWARK__SCOPING__V1__ENTITY_TYPE__ANNEX__I
#define ANNEX_II BULWARK__SCOPING__V1__ENTITY_TYPE__ANNEX__II
#define ANNEX_NONE BULWARK__SCOPING__V1__ENTITY_TYPE__ANNEX__NONE
#define EST BULWARK__SCOPING__V1__JURISDICTION__RULE__ESTABLISHMENT
#define MAIN BULWARK__SCOPING__V1__JURISDICTION__RULE__MAIN_ESTABLISHMENT
#define SVC BULWARK__SCOPING__V1__JURISDICTION__RULE__SERVICE_PROVISION
#define PA BULWARK__SCOPING__V1__JURISDICTION__RULE__ESTABLISHING_STATE

#define SI BW_CAT_SIZE_INDEPENDENT
#define ESS BW_CAT_ALWAYS_ESSENTIAL
#define IR BW_CAT_IR
#define DORA BW_CAT_DORA
#define NEP BW_CAT_NON_ESSENTIAL_PART
#define SZ BW_CAT_SIZED

#define GEN BW_CAT_GENERIC

static const char dora_note[] = "DORA (Regulation (EU) 2022/2554) applies as lex specialis "
                                "(Art 4, Recital 28)";

static const bw_catalogue_entry_t catalogue[] = {
    /* Annex I: sectors of high criticality. */
    {"energy.electricity.supplier", ANNEX_I, "1(a)", "Energy", "Electricity",
     "Electricity undertakings carrying out supply (Directive 2019/944 Art 2(57), 2(12))", SZ, GEN,
     EST, ""},
    {"energy.electricity.dso", ANNEX_I, "1(a)", "Energy", "Electricity",
     "Distribution system operators (Directive 2019/944 Art 2(29))", SZ, GEN, EST, ""},
    {"energy.electricity.tso", ANNEX_I, "1(a)", "Energy", "Electricity",
     "Transmission system operators (Directive 2019/944 Art 2(35))", SZ, GEN, EST, ""},
    {"energy.electricity.producer", ANNEX_I, "1(a)", "Energy", "Electricity",
     "Producers (Directive 2019/944 Art 2(38))", SZ, GEN, EST, ""},
    {"energy.electricity.nemo", ANNEX_I, "1(a)", "Energy", "Electricity",
     "Nominated electricity market operators (Regulation 2019/943 Art 2(8))", SZ, GEN, EST, ""},
    {"energy.electricity.flex_market_participant", ANNEX_I, "1(a)", "Energy", "Electricity",
     "Market participants providing aggregation, demand response or energy storage services "
     "(Regulation 2019/943 Art 2(25))",
     SZ, GEN, EST, ""},
    {"energy.electricity.recharging_point_operator", ANNEX_I, "1(a)", "Energy", "Electricity",
     "Operators of recharging points responsible for the management and operation of a "
     "recharging point providing a recharging service to end users",
     SZ, GEN, EST, ""},
    {"energy.district_heating.operator", ANNEX_I, "1(b)", "Energy", "District heating and cooling",
     "Operators of district heating or district cooling (Directive 2018/2001 Art 2(19))", SZ, GEN,
     EST, ""},
    {"energy.oil.pipeline_operator", ANNEX_I, "1(c)", "Energy", "Oil",
     "Operators of oil transmission pipelines", SZ, GEN, EST, ""},
    {"energy.oil.production_refining_storage", ANNEX_I, "1(c)", "Energy", "Oil",
     "Operators of oil production, refining and treatment facilities, storage and transmission", SZ,
     GEN, EST, ""},
    {"energy.oil.central_stockholding_entity", ANNEX_I, "1(c)", "Energy", "Oil",
     "Central stockholding entities (Directive 2009/119/EC Art 2(f))", SZ, GEN, EST, ""},
    {"energy.gas.supply_undertaking", ANNEX_I, "1(d)", "Energy", "Gas",
     "Supply undertakings (Directive 2009/73/EC Art 2(8))", SZ, GEN, EST, ""},
    {"energy.gas.dso", ANNEX_I, "1(d)", "Energy", "Gas",
     "Distribution system operators (Directive 2009/73/EC Art 2(6))", SZ, GEN, EST, ""},
    {"energy.gas.tso", ANNEX_I, "1(d)", "Energy", "Gas",
     "Transmission system operators (Directive 2009/73/EC Art 2(4))", SZ, GEN, EST, ""},
    {"energy.gas.storage_operator", ANNEX_I, "1(d)", "Energy", "Gas",
     "Storage system operators (Directive 2009/73/EC Art 2(10))", SZ, GEN, EST, ""},
    {"energy.gas.lng_operator", ANNEX_I, "1(d)", "Energy", "Gas",
     "LNG system operators (Directive 2009/73/EC Art 2(12))", SZ, GEN, EST, ""},
    {"energy.gas.natural_gas_undertaking", ANNEX_I, "1(d)", "Energy", "Gas",
     "Natural gas undertakings (Directive 2009/73/EC Art 2(1))", SZ, GEN, EST, ""},
    {"energy.gas.refining_treatment", ANNEX_I, "1(d)", "Energy", "Gas",
     "Operators of natural gas refining and treatment facilities", SZ, GEN, EST, ""},
    {"energy.hydrogen.operator", ANNEX_I, "1(e)", "Energy", "Hydrogen",
     "Operators of hydrogen production, storage and transmission", SZ, GEN, EST, ""},
    {"transport.air.carrier", ANNEX_I, "2(a)", "Transport", "Air",
     "Air carriers used for commercial purposes (Regulation 300/2008 Art 3(4))", SZ, GEN, EST, ""},
    {"transport.air.airport", ANNEX_I, "2(a)", "Transport", "Air",
     "Airport managing bodies, airports including core airports, and entities operating "
     "ancillary installations within airports (Directive 2009/12/EC Art 2)",
     SZ, GEN, EST, ""},
    {"transport.air.atc", ANNEX_I, "2(a)", "Transport", "Air",
     "Traffic management control operators providing air traffic control services "
     "(Regulation 549/2004 Art 2(1))",
     SZ, GEN, EST, ""},
    {"transport.rail.infrastructure_manager", ANNEX_I, "2(b)", "Transport", "Rail",
     "Infrastructure managers (Directive 2012/34/EU Art 3(2))", SZ, GEN, EST, ""},
    {"transport.rail.railway_undertaking", ANNEX_I, "2(b)", "Transport", "Rail",
     "Railway undertakings, including operators of service facilities (Directive 2012/34/EU "
     "Art 3(1), 3(12))",
     SZ, GEN, EST, ""},
    {"transport.water.shipping_company", ANNEX_I, "2(c)", "Transport", "Water",
     "Inland, sea and coastal passenger and freight water transport companies (Regulation "
     "725/2004 Annex I), not including the individual vessels",
     SZ, GEN, EST, "The individual vessels operated by those companies are not covered."},
    {"transport.water.port_managing_body", ANNEX_I, "2(c)", "Transport", "Water",
     "Managing bodies of ports, including their port facilities, and entities operating works "
     "and equipment contained within ports (Directive 2005/65/EC Art 3(1))",
     SZ, GEN, EST, ""},
    {"transport.water.vts_operator", ANNEX_I, "2(c)", "Transport", "Water",
     "Operators of vessel traffic services (Directive 2002/59/EC Art 3(o))", SZ, GEN, EST, ""},
    {"transport.road.road_authority", ANNEX_I, "2(d)", "Transport", "Road",
     "Road authorities responsible for traffic management control (Delegated Regulation "
     "2015/962 Art 2(12))",
     SZ | NEP, GEN, EST,
     "Excludes public entities for which traffic management control or the operation of "
     "intelligent transport systems is a non-essential part of their general activity."},
    {"transport.road.its_operator", ANNEX_I, "2(d)", "Transport", "Road",
     "Operators of intelligent transport systems (Directive 2010/40/EU Art 4(1))", SZ, GEN, EST,
     ""},
    {"banking.credit_institution", ANNEX_I, "3", "Banking", "",
     "Credit institutions (Regulation 575/2013 Art 4(1))", SZ | DORA, GEN, EST, dora_note},
    {"fmi.trading_venue_operator", ANNEX_I, "4", "Financial market infrastructures", "",
     "Operators of trading venues (Directive 2014/65/EU Art 4(24))", SZ | DORA, GEN, EST,
     dora_note},
    {"fmi.ccp", ANNEX_I, "4", "Financial market infrastructures", "",
     "Central counterparties (Regulation 648/2012 Art 2(1))", SZ | DORA, GEN, EST, dora_note},
    {"health.healthcare_provider", ANNEX_I, "5", "Health", "",
     "Healthcare providers (Directive 2011/24/EU Art 3(g))", SZ, GEN, EST, ""},
    {"health.eu_reference_lab", ANNEX_I, "5", "Health", "",
     "EU reference laboratories (Regulation 2022/2371 Art 15)", SZ, GEN, EST, ""},
    {"health.medicinal_rnd", ANNEX_I, "5", "Health", "",
     "Entities carrying out research and development activities of medicinal products "
     "(Directive 2001/83/EC Art 1(2))",
     SZ, GEN, EST, ""},
    {"health.pharma_manufacturer", ANNEX_I, "5", "Health", "",
     "Entities manufacturing basic pharmaceutical products and pharmaceutical preparations "
     "(NACE Rev. 2 section C division 21)",
     SZ, GEN, EST, ""},
    {"health.critical_medical_device_manufacturer", ANNEX_I, "5", "Health", "",
     "Entities manufacturing medical devices considered critical during a public health "
     "emergency (Regulation 2022/123 Art 22)",
     SZ, BW_CAT_CRITICAL_MEDICAL_DEVICES, EST, ""},
    {"drinking_water.supplier_distributor", ANNEX_I, "6", "Drinking water", "",
     "Suppliers and distributors of water intended for human consumption (Directive 2020/2184 "
     "Art 2(1)(a))",
     SZ | NEP, GEN, EST,
     "Excludes distributors for which distribution of such water is a non-essential part of "
     "their general activity of distributing other commodities and goods."},
    {"waste_water.operator", ANNEX_I, "7", "Waste water", "",
     "Undertakings collecting, disposing of or treating urban, domestic or industrial waste "
     "water (Directive 91/271/EEC Art 2(1)-(3))",
     SZ | NEP, GEN, EST,
     "Excludes undertakings for which this is a non-essential part of their general "
     "activity."},
    {"digital_infra.ixp", ANNEX_I, "8", "Digital infrastructure", "",
     "Internet Exchange Point providers", SZ, GEN, EST, ""},
    {"digital_infra.dns", ANNEX_I, "8", "Digital infrastructure", "",
     "DNS service providers (NIS2 Art 6(20))", SZ | SI | ESS | IR, BW_CAT_DNS, MAIN,
     "Excludes operators of root name servers (set rootNameServer).", 5},
    {"digital_infra.tld_registry", ANNEX_I, "8", "Digital infrastructure", "",
     "TLD name registries (NIS2 Art 6(21))", SZ | SI | ESS | IR, BW_CAT_TLD, MAIN, "", 6},
    {"digital_infra.cloud", ANNEX_I, "8", "Digital infrastructure", "",
     "Cloud computing service providers", SZ | IR, GEN, MAIN, "", 7},
    {"digital_infra.data_centre", ANNEX_I, "8", "Digital infrastructure", "",
     "Data centre service providers", SZ | IR, GEN, MAIN, "", 8},
    {"digital_infra.cdn", ANNEX_I, "8", "Digital infrastructure", "",
     "Content delivery network providers", SZ | IR, GEN, MAIN, "", 9},
    {"digital_infra.tsp", ANNEX_I, "8", "Digital infrastructure", "",
     "Trust service providers (Regulation 910/2014 Art 3(19)); qualified or not as the "
     "activity's qualifiedTrustService says",
     SZ | SI | IR, BW_CAT_TSP, EST,
     "Qualified trust service providers are essential whatever their size (Art 3(1)(b)); "
     "others are important unless large.",
     14},
    {"digital_infra.tsp.qualified", ANNEX_I, "8", "Digital infrastructure", "",
     "Qualified trust service providers (Regulation 910/2014 Art 3(20))", SZ | SI | ESS | IR,
     BW_CAT_TSP_QUALIFIED, EST, "", 14},
    {"digital_infra.tsp.non_qualified", ANNEX_I, "8", "Digital infrastructure", "",
     "Trust service providers that are not qualified (Regulation 910/2014 Art 3(19))", SZ | SI | IR,
     BW_CAT_TSP_NON_QUALIFIED, EST,
     "Important whatever their size, essential when large (Art 3(1)(a)).", 14},
    {"digital_infra.pecn", ANNEX_I, "8", "Digital infrastructure", "",
     "Providers of public electronic communications networks (Directive 2018/1972 Art 2(8))",
     SZ | SI, BW_CAT_ECN, SVC, "Essential when medium-sized (Art 3(1)(c)) or large (Art 3(1)(a))."},
    {"digital_infra.pecs", ANNEX_I, "8", "Digital infrastructure", "",
     "Providers of publicly available electronic communications services (Directive 2018/1972 "
     "Art 2(4))",
     SZ | SI, BW_CAT_ECN, SVC, "Essential when medium-sized (Art 3(1)(c)) or large (Art 3(1)(a))."},
    {"ict_b2b.msp", ANNEX_I, "9", "ICT service management (business-to-business)", "",
     "Managed service providers (NIS2 Art 6(39))", SZ | IR, GEN, MAIN, "", 10},
    {"ict_b2b.mssp", ANNEX_I, "9", "ICT service management (business-to-business)", "",
     "Managed security service providers (NIS2 Art 6(40))", SZ | IR, GEN, MAIN, "", 10},
    {"public_admin.central", ANNEX_I, "10", "Public administration", "",
     "Public administration entities of central governments as defined by a Member State in "
     "accordance with national law",
     SI | ESS, BW_CAT_PA_CENTRAL, PA,
     "The judiciary, parliaments and central banks are not public administration entities "
     "(Art 6(35)); entities in national security, public security, defence or law "
     "enforcement are excluded (Art 2(7))."},
    {"public_admin.regional", ANNEX_I, "10", "Public administration", "",
     "Public administration entities at regional level as defined by a Member State in "
     "accordance with national law",
     SI, BW_CAT_PA_REGIONAL, PA,
     "Covered only where a risk-based assessment finds that a disruption of its services could "
     "have a significant impact on critical societal or economic activities (Art 2(2)(f)(ii))."},
    {"space.ground_infrastructure_operator", ANNEX_I, "11", "Space", "",
     "Operators of ground-based infrastructure, owned, managed and operated by Member States or "
     "by private parties, that support the provision of space-based services",
     SZ, BW_CAT_SPACE, EST, "Excludes providers of public electronic communications networks."},

    /* Annex II: other critical sectors. */
    {"postal.provider", ANNEX_II, "1", "Postal and courier services", "",
     "Postal service providers, including providers of courier services (Directive 97/67/EC "
     "Art 2(1a))",
     SZ, GEN, EST, ""},
    {"waste_mgmt.operator", ANNEX_II, "2", "Waste management", "",
     "Undertakings carrying out waste management (Directive 2008/98/EC Art 3(9))", SZ,
     BW_CAT_WASTE_MANAGEMENT, EST,
     "Only where waste management is the principal economic activity (set "
     "principalActivity)."},
    {"chemicals.manufacture_distribution", ANNEX_II, "3",
     "Manufacture, production and distribution of chemicals", "",
     "Undertakings manufacturing substances and distributing substances or mixtures, and "
     "producing articles from substances or mixtures (Regulation 1907/2006 Art 3(9), (14), (3))",
     SZ, GEN, EST, ""},
    {"food.business", ANNEX_II, "4", "Production, processing and distribution of food", "",
     "Food businesses engaged in wholesale distribution and industrial production and "
     "processing (Regulation 178/2002 Art 3(2))",
     SZ, BW_CAT_FOOD, EST, "Retail alone is not covered (set retailOnly)."},
    {"manufacturing.medical_devices", ANNEX_II, "5(a)", "Manufacturing",
     "Manufacture of medical devices and in vitro diagnostic medical devices",
     "Manufacturers of medical devices (Regulation 2017/745 Art 2(1)) and in vitro diagnostic "
     "medical devices (Regulation 2017/746 Art 2(2))",
     SZ, BW_CAT_MEDICAL_DEVICES, EST,
     "Except makers of the critical devices of Annex I pt 5 "
     "(health.critical_medical_device_manufacturer)."},
    {"manufacturing.computer_electronic_optical", ANNEX_II, "5(b)", "Manufacturing",
     "Manufacture of computer, electronic and optical products",
     "Undertakings in NACE Rev. 2 section C division 26", SZ, GEN, EST, ""},
    {"manufacturing.electrical_equipment", ANNEX_II, "5(c)", "Manufacturing",
     "Manufacture of electrical equipment", "Undertakings in NACE Rev. 2 section C division 27", SZ,
     GEN, EST, ""},
    {"manufacturing.machinery", ANNEX_II, "5(d)", "Manufacturing",
     "Manufacture of machinery and equipment n.e.c.",
     "Undertakings in NACE Rev. 2 section C division 28", SZ, GEN, EST, ""},
    {"manufacturing.motor_vehicles", ANNEX_II, "5(e)", "Manufacturing",
     "Manufacture of motor vehicles, trailers and semi-trailers",
     "Undertakings in NACE Rev. 2 section C division 29", SZ, GEN, EST, ""},
    {"manufacturing.other_transport", ANNEX_II, "5(f)", "Manufacturing",
     "Manufacture of other transport equipment",
     "Undertakings in NACE Rev. 2 section C division 30", SZ, GEN, EST, ""},
    {"digital_providers.online_marketplace", ANNEX_II, "6", "Digital providers", "",
     "Providers of online marketplaces (NIS2 Art 6(28))", SZ | IR, GEN, MAIN, "", 11},
    {"digital_providers.search_engine", ANNEX_II, "6", "Digital providers", "",
     "Providers of online search engines (NIS2 Art 6(29))", SZ | IR, GEN, MAIN, "", 12},
    {"digital_providers.social_network", ANNEX_II, "6", "Digital providers", "",
     "Providers of social networking services platforms (NIS2 Art 6(33))", SZ | IR, GEN, MAIN, "",
     13},
    {"research.organisation", ANNEX_II, "7", "Research", "",
     "Research organisations (NIS2 Art 6(41))", SZ, BW_CAT_RESEARCH, EST,
     "Educational institutions are not research organisations (Art 6(41))."},

    /* Outside the Annexes. */
    {"domain_registration.service", ANNEX_NONE, "", "Domain name registration", "",
     "Entities providing domain name registration services (NIS2 Art 6(22))", SI,
     BW_CAT_DOMAIN_REGISTRATION, MAIN,
     "In scope whatever the size (Art 2(4)) but neither essential nor important: Art 3(3) list, "
     "Art 27 and 28 apply."},
    {"public_admin.local", ANNEX_NONE, "", "Public administration", "",
     "Public administration entities at local level", 0, BW_CAT_PA_LOCAL, PA,
     "Covered only where national law so provides (Member State option, Art 2(5)(a))."},
    {"education.institution", ANNEX_NONE, "", "Education", "",
     "Education institutions, in particular where they carry out critical research activities", 0,
     BW_CAT_EDUCATION, EST,
     "Covered only where national law so provides (Member State option, Art 2(5)(b))."},
};

const bw_catalogue_entry_t *bw_catalogue_find(const char *code)
{
    for (size_t i = 0; i < sizeof(catalogue) / sizeof(catalogue[0]); i++)
        if (code[0] == catalogue[i].code[0] && strcmp(code, catalogue[i].code) == 0)
            return &catalogue[i];
    return NULL;
}

const bw_catalogue_entry_t *bw_catalogue_entries(size_t *n)
{
    *n = sizeof(catalogue) / sizeof(catalogue[0]);
    return catalogue;
}

int bw_catalogue_is_tsp(const bw_catalogue_entry_t *entry)
{
    return entry->kind == BW_CAT_TSP || entry->kind == BW_CAT_TSP_QUALIFIED ||
           entry->kind == BW_CAT_TSP_NON_QUALIFIED;
}

int bw_catalogue_is_public_admin(const bw_catalogue_entry_t *entry)
{
    return entry->kind == BW_CAT_PA_CENTRAL || entry->kind == BW_CAT_PA_REGIONAL ||
           entry->kind == BW_CAT_PA_LOCAL;
}
