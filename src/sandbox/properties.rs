//! Property schemas: what a property is (type, field type, options, unique, read-only) and the realistic
//! default property set of every standard object type, served at `GET /crm/v3/properties/{objectType}`.

use serde_json::{Value, json};

/// A property's data type, as HubSpot names it in `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropType {
    String,
    Number,
    Date,
    Datetime,
    Bool,
    Enumeration,
    PhoneNumber,
}

impl PropType {
    /// The wire name (`"string"`, `"phone_number"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            PropType::String => "string",
            PropType::Number => "number",
            PropType::Date => "date",
            PropType::Datetime => "datetime",
            PropType::Bool => "bool",
            PropType::Enumeration => "enumeration",
            PropType::PhoneNumber => "phone_number",
        }
    }

    /// Reads a wire name (custom schema files).
    pub fn parse(name: &str) -> Option<PropType> {
        Some(match name {
            "string" => PropType::String,
            "number" => PropType::Number,
            "date" => PropType::Date,
            "datetime" => PropType::Datetime,
            "bool" | "boolean" => PropType::Bool,
            "enumeration" => PropType::Enumeration,
            "phone_number" => PropType::PhoneNumber,
            _ => return None,
        })
    }

    fn default_field_type(self) -> &'static str {
        match self {
            PropType::String => "text",
            PropType::Number => "number",
            PropType::Date => "date",
            PropType::Datetime => "date",
            PropType::Bool => "booleancheckbox",
            PropType::Enumeration => "select",
            PropType::PhoneNumber => "phonenumber",
        }
    }
}

/// Who sets a property: the client, or the server from the record itself (never stored as a value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerSet {
    /// A normal stored value (possibly read-only and derived, like `hs_email_domain`).
    No,
    /// `hs_object_id`: the record id.
    ObjectId,
    /// `createdate` / `hs_createdate`: the creation instant.
    CreateDate,
    /// `lastmodifieddate` / `hs_lastmodifieddate`: the last write instant.
    ModifiedDate,
}

/// Extra syntax checks beyond the type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Plain,
    /// One email address (contact `email`).
    Email,
    /// `;`-joined email addresses (`hs_additional_emails`).
    EmailList,
}

/// One enumeration option.
#[derive(Debug, Clone)]
pub struct OptionDef {
    pub label: String,
    pub value: String,
    pub display_order: i32,
    pub hidden: bool,
}

/// One property of an object type.
#[derive(Debug, Clone)]
pub struct PropertyDef {
    pub name: String,
    pub label: String,
    pub ptype: PropType,
    pub field_type: String,
    pub group: String,
    pub description: String,
    pub options: Vec<OptionDef>,
    /// `hasUniqueValue`: no two live records of the type share a value (usable as `idProperty`).
    pub unique: bool,
    /// `modificationMetadata.readOnlyValue`: writes are rejected with `READ_ONLY_VALUE`.
    pub read_only: bool,
    pub calculated: bool,
    pub server: ServerSet,
    pub format: Format,
    /// Defined by the portal (a schema file's custom type, or created through the API), not HubSpot.
    pub custom: bool,
}

impl PropertyDef {
    /// A property of `ptype` with its usual field type.
    pub fn new(name: &str, label: &str, ptype: PropType) -> PropertyDef {
        PropertyDef {
            name: name.to_owned(),
            label: label.to_owned(),
            ptype,
            field_type: ptype.default_field_type().to_owned(),
            group: String::new(),
            description: String::new(),
            options: if ptype == PropType::Bool {
                options(&[("true", "Yes"), ("false", "No")])
            } else {
                Vec::new()
            },
            unique: false,
            read_only: false,
            calculated: false,
            server: ServerSet::No,
            format: Format::Plain,
            custom: false,
        }
    }

    /// A multi-checkbox enumeration: values travel `;`-joined.
    pub fn is_multi(&self) -> bool {
        self.ptype == PropType::Enumeration && self.field_type == "checkbox"
    }

    /// The option values, for validation and for the `INVALID_OPTION` message.
    pub fn option_values(&self) -> impl Iterator<Item = &str> {
        self.options.iter().map(|o| o.value.as_str())
    }

    fn field(mut self, field_type: &str) -> Self {
        self.field_type = field_type.to_owned();
        self
    }

    fn unique(mut self) -> Self {
        self.unique = true;
        self
    }

    fn read_only(mut self) -> Self {
        self.read_only = true;
        self.calculated = true;
        self
    }

    fn format(mut self, format: Format) -> Self {
        self.format = format;
        self
    }

    fn describe(mut self, text: &str) -> Self {
        self.description = text.to_owned();
        self
    }

    /// HubSpot's property JSON (`GET /crm/v3/properties/{objectType}` results and schema `properties`).
    /// `hubspot_defined` is the type's default; a portal-defined property is never HubSpot-defined.
    pub fn to_json(&self, hubspot_defined: bool) -> Value {
        let hubspot_defined = hubspot_defined && !self.custom;
        let options: Vec<Value> = self
            .options
            .iter()
            .map(|o| {
                json!({"label": o.label, "value": o.value, "displayOrder": o.display_order, "hidden": o.hidden})
            })
            .collect();
        json!({
            "name": self.name,
            "label": self.label,
            "type": self.ptype.as_str(),
            "fieldType": self.field_type,
            "description": self.description,
            "groupName": self.group,
            "options": options,
            "displayOrder": -1,
            "calculated": self.calculated,
            "externalOptions": false,
            "hasUniqueValue": self.unique,
            "hidden": false,
            "hubspotDefined": hubspot_defined,
            "showCurrencySymbol": false,
            "modificationMetadata": {
                "archivable": !hubspot_defined,
                "readOnlyDefinition": hubspot_defined,
                "readOnlyValue": self.read_only,
            },
            "formField": !self.read_only,
            "dataSensitivity": "non_sensitive",
            "createdAt": "2020-01-01T00:00:00.000Z",
            "updatedAt": "2020-01-01T00:00:00.000Z",
            "archived": false,
        })
    }
}

/// Options from `(value, label)` pairs, in display order.
pub fn options(pairs: &[(&str, &str)]) -> Vec<OptionDef> {
    pairs
        .iter()
        .enumerate()
        .map(|(i, (value, label))| OptionDef {
            label: (*label).to_owned(),
            value: (*value).to_owned(),
            display_order: i as i32,
            hidden: false,
        })
        .collect()
}

/// Options whose labels are derived from their values (`IN_PROGRESS` → "In progress").
fn options_from_values(values: &[&str]) -> Vec<OptionDef> {
    let labels: Vec<String> = values.iter().map(|v| label_of(v)).collect();
    let pairs: Vec<(&str, &str)> = values
        .iter()
        .zip(&labels)
        .map(|(v, l)| (*v, l.as_str()))
        .collect();
    options(&pairs)
}

fn label_of(value: &str) -> String {
    let spaced = value.replace('_', " ").to_lowercase();
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn text(name: &str, label: &str) -> PropertyDef {
    PropertyDef::new(name, label, PropType::String)
}

fn textarea(name: &str, label: &str) -> PropertyDef {
    text(name, label).field("textarea")
}

fn number(name: &str, label: &str) -> PropertyDef {
    PropertyDef::new(name, label, PropType::Number)
}

fn date(name: &str, label: &str) -> PropertyDef {
    PropertyDef::new(name, label, PropType::Date)
}

fn datetime(name: &str, label: &str) -> PropertyDef {
    PropertyDef::new(name, label, PropType::Datetime)
}

fn phone(name: &str, label: &str) -> PropertyDef {
    PropertyDef::new(name, label, PropType::PhoneNumber)
}

fn boolean(name: &str, label: &str) -> PropertyDef {
    PropertyDef::new(name, label, PropType::Bool)
}

fn select(name: &str, label: &str, values: &[&str]) -> PropertyDef {
    let mut def = PropertyDef::new(name, label, PropType::Enumeration);
    def.options = options_from_values(values);
    def
}

fn select_labelled(name: &str, label: &str, pairs: &[(&str, &str)]) -> PropertyDef {
    let mut def = PropertyDef::new(name, label, PropType::Enumeration);
    def.options = options(pairs);
    def
}

fn checkbox(name: &str, label: &str, values: &[&str]) -> PropertyDef {
    select(name, label, values).field("checkbox")
}

/// The default deal pipeline's stages (API-NOTES §8), `(value, label, probability)`.
pub const DEAL_STAGES: [(&str, &str, &str); 7] = [
    ("appointmentscheduled", "Appointment Scheduled", "0.2"),
    ("qualifiedtobuy", "Qualified To Buy", "0.4"),
    ("presentationscheduled", "Presentation Scheduled", "0.6"),
    ("decisionmakerboughtin", "Decision Maker Bought-In", "0.8"),
    ("contractsent", "Contract Sent", "0.9"),
    ("closedwon", "Closed Won", "1.0"),
    ("closedlost", "Closed Lost", "0.0"),
];

/// The default ticket pipeline's stages (API-NOTES §8), `(id, label, ticketState)`.
pub const TICKET_STAGES: [(&str, &str, &str); 4] = [
    ("1", "New", "OPEN"),
    ("2", "Waiting on contact", "OPEN"),
    ("3", "Waiting on us", "OPEN"),
    ("4", "Closed", "CLOSED"),
];

const LIFECYCLE: [(&str, &str); 8] = [
    ("subscriber", "Subscriber"),
    ("lead", "Lead"),
    ("marketingqualifiedlead", "Marketing Qualified Lead"),
    ("salesqualifiedlead", "Sales Qualified Lead"),
    ("opportunity", "Opportunity"),
    ("customer", "Customer"),
    ("evangelist", "Evangelist"),
    ("other", "Other"),
];

const INDUSTRIES: [&str; 20] = [
    "ACCOUNTING",
    "AIRLINES_AVIATION",
    "APPAREL_FASHION",
    "AUTOMOTIVE",
    "BANKING",
    "BIOTECHNOLOGY",
    "COMPUTER_SOFTWARE",
    "CONSTRUCTION",
    "CONSUMER_GOODS",
    "EDUCATION_MANAGEMENT",
    "FINANCIAL_SERVICES",
    "FOOD_BEVERAGES",
    "HOSPITAL_HEALTH_CARE",
    "INFORMATION_TECHNOLOGY_AND_SERVICES",
    "INSURANCE",
    "INTERNET",
    "MARKETING_AND_ADVERTISING",
    "REAL_ESTATE",
    "RETAIL",
    "TELECOMMUNICATIONS",
];

/// Properties every engagement (activity) type shares.
fn engagement(mut own: Vec<PropertyDef>) -> Vec<PropertyDef> {
    let mut props = vec![
        datetime("hs_timestamp", "Activity date").describe("When the activity took place."),
        number("hubspot_owner_id", "Activity assigned to"),
    ];
    props.append(&mut own);
    props
}

/// The client-writable (and derived, read-only) properties of a standard type, without the server-set
/// id/date properties, which `objects.rs` adds to every type.
pub fn standard(type_name: &str) -> Vec<PropertyDef> {
    match type_name {
        "contacts" => vec![
            text("email", "Email")
                .unique()
                .format(Format::Email)
                .describe("A contact's email address"),
            text("firstname", "First Name"),
            text("lastname", "Last Name"),
            phone("phone", "Phone Number"),
            phone("mobilephone", "Mobile Phone Number"),
            text("company", "Company Name"),
            text("website", "Website URL"),
            text("jobtitle", "Job Title"),
            textarea("address", "Street Address"),
            text("city", "City"),
            text("state", "State/Region"),
            text("zip", "Postal Code"),
            text("country", "Country/Region"),
            select_labelled("lifecyclestage", "Lifecycle Stage", &LIFECYCLE).field("radio"),
            select(
                "hs_lead_status",
                "Lead Status",
                &[
                    "NEW",
                    "OPEN",
                    "IN_PROGRESS",
                    "OPEN_DEAL",
                    "UNQUALIFIED",
                    "ATTEMPTED_TO_CONTACT",
                    "CONNECTED",
                    "BAD_TIMING",
                ],
            )
            .field("radio"),
            date("date_of_birth", "Date of birth"),
            text("hs_additional_emails", "Additional email addresses")
                .unique()
                .format(Format::EmailList),
            number("hubspot_owner_id", "Contact owner"),
            number("annualrevenue", "Annual Revenue"),
            select(
                "numemployees",
                "Number of Employees",
                &[
                    "1-5", "5-25", "25-50", "50-100", "100-500", "500-1000", "1000+",
                ],
            ),
            checkbox(
                "hs_buying_role",
                "Buying Role",
                &[
                    "BLOCKER",
                    "BUDGET_HOLDER",
                    "CHAMPION",
                    "DECISION_MAKER",
                    "END_USER",
                    "EXECUTIVE_SPONSOR",
                    "INFLUENCER",
                    "LEGAL_AND_COMPLIANCE",
                    "OTHER",
                ],
            ),
            boolean("hs_marketable_status", "Marketing contact status"),
            number("hs_pinned_engagement_id", "Pinned Engagement ID"),
            text("hs_email_domain", "Email Domain").read_only(),
            text("hs_object_source", "Record source").read_only(),
        ],
        "companies" => vec![
            text("name", "Company name"),
            text("domain", "Company Domain Name"),
            select("industry", "Industry", &INDUSTRIES),
            phone("phone", "Phone Number"),
            textarea("address", "Street Address"),
            text("city", "City"),
            text("state", "State/Region"),
            text("zip", "Postal Code"),
            text("country", "Country/Region"),
            number("numberofemployees", "Number of Employees"),
            number("annualrevenue", "Annual Revenue"),
            textarea("description", "Description"),
            text("website", "Website URL"),
            select_labelled("lifecyclestage", "Lifecycle Stage", &LIFECYCLE).field("radio"),
            select(
                "type",
                "Type",
                &["PROSPECT", "PARTNER", "RESELLER", "VENDOR", "OTHER"],
            ),
            number("hubspot_owner_id", "Company owner"),
            number("hs_pinned_engagement_id", "Pinned Engagement ID"),
            text("hs_object_source", "Record source").read_only(),
        ],
        "deals" => {
            let stages: Vec<(&str, &str)> = DEAL_STAGES.iter().map(|(v, l, _)| (*v, *l)).collect();
            vec![
                text("dealname", "Deal Name"),
                select_labelled("dealstage", "Deal Stage", &stages).field("radio"),
                select_labelled("pipeline", "Pipeline", &[("default", "Sales Pipeline")]),
                number("amount", "Amount"),
                date("closedate", "Close Date"),
                select_labelled(
                    "dealtype",
                    "Deal Type",
                    &[
                        ("newbusiness", "New Business"),
                        ("existingbusiness", "Existing Business"),
                    ],
                )
                .field("radio"),
                number("hubspot_owner_id", "Deal owner"),
                textarea("description", "Deal Description"),
                select_labelled(
                    "hs_priority",
                    "Priority",
                    &[("low", "Low"), ("medium", "Medium"), ("high", "High")],
                ),
                number("hs_pinned_engagement_id", "Pinned Engagement ID"),
                boolean("hs_is_closed", "Is Deal Closed?").read_only(),
                text("hs_object_source", "Record source").read_only(),
            ]
        }
        "tickets" => {
            let stages: Vec<(&str, &str)> =
                TICKET_STAGES.iter().map(|(v, l, _)| (*v, *l)).collect();
            vec![
                text("subject", "Ticket name"),
                textarea("content", "Ticket description"),
                select_labelled("hs_pipeline", "Pipeline", &[("0", "Support Pipeline")]),
                select_labelled("hs_pipeline_stage", "Ticket status", &stages),
                select(
                    "hs_ticket_priority",
                    "Priority",
                    &["LOW", "MEDIUM", "HIGH", "URGENT"],
                ),
                select(
                    "hs_ticket_category",
                    "Category",
                    &[
                        "PRODUCT_ISSUE",
                        "BILLING_ISSUE",
                        "FEATURE_REQUEST",
                        "GENERAL_INQUIRY",
                    ],
                ),
                select("source_type", "Source", &["EMAIL", "CHAT", "PHONE", "FORM"]),
                number("hubspot_owner_id", "Ticket owner"),
                number("hs_pinned_engagement_id", "Pinned Engagement ID"),
                number("hs_ticket_id", "Ticket ID").read_only(),
                text("hs_object_source", "Record source").read_only(),
            ]
        }
        "products" => vec![
            text("name", "Name"),
            textarea("description", "Description"),
            number("price", "Unit price"),
            text("hs_sku", "SKU"),
            number("hs_cost_of_goods_sold", "Unit cost"),
            text("hs_recurring_billing_period", "Term"),
            select(
                "hs_product_type",
                "Product type",
                &["inventory", "non_inventory", "service"],
            ),
        ],
        "line_items" => vec![
            text("name", "Name"),
            number("hs_product_id", "Product ID"),
            number("quantity", "Quantity"),
            number("price", "Unit price"),
            number("discount", "Unit discount"),
            text("hs_sku", "SKU"),
            textarea("description", "Description"),
            number("amount", "Net price").read_only(),
        ],
        "quotes" => vec![
            text("hs_title", "Quote name"),
            date("hs_expiration_date", "Expiration date"),
            select(
                "hs_status",
                "Quote approval status",
                &[
                    "DRAFT",
                    "APPROVAL_NOT_NEEDED",
                    "PENDING_APPROVAL",
                    "APPROVED",
                    "REJECTED",
                ],
            ),
            text("hs_language", "Language"),
            text("hs_currency", "Currency"),
            text("hs_sender_firstname", "Sender first name"),
            text("hs_sender_email", "Sender email"),
        ],
        "leads" => vec![
            text("hs_lead_name", "Lead name"),
            select(
                "hs_lead_type",
                "Lead type",
                &["NEW_BUSINESS", "UPSELL", "RE_ATTEMPTING"],
            ),
            select("hs_lead_label", "Lead label", &["COLD", "WARM", "HOT"]),
            number("hubspot_owner_id", "Lead owner"),
        ],
        "calls" => engagement(vec![
            text("hs_call_title", "Call title"),
            textarea("hs_call_body", "Call notes"),
            number("hs_call_duration", "Call duration (ms)"),
            select(
                "hs_call_direction",
                "Call direction",
                &["INBOUND", "OUTBOUND"],
            ),
            select(
                "hs_call_status",
                "Call status",
                &[
                    "BUSY",
                    "CALLING_CRM_USER",
                    "CANCELED",
                    "COMPLETED",
                    "CONNECTING",
                    "FAILED",
                    "IN_PROGRESS",
                    "NO_ANSWER",
                    "QUEUED",
                    "RINGING",
                ],
            ),
            phone("hs_call_from_number", "From number"),
            phone("hs_call_to_number", "To number"),
            text("hs_call_disposition", "Call outcome"),
        ]),
        "emails" => engagement(vec![
            text("hs_email_subject", "Email subject"),
            textarea("hs_email_text", "Email body"),
            textarea("hs_email_html", "Email HTML body"),
            select(
                "hs_email_direction",
                "Email direction",
                &["EMAIL", "INCOMING_EMAIL", "FORWARDED_EMAIL"],
            ),
            select(
                "hs_email_status",
                "Email send status",
                &["BOUNCED", "FAILED", "SCHEDULED", "SENDING", "SENT"],
            ),
        ]),
        "meetings" => engagement(vec![
            text("hs_meeting_title", "Meeting name"),
            textarea("hs_meeting_body", "Meeting description"),
            datetime("hs_meeting_start_time", "Start time"),
            datetime("hs_meeting_end_time", "End time"),
            text("hs_meeting_location", "Location"),
            select(
                "hs_meeting_outcome",
                "Meeting outcome",
                &[
                    "SCHEDULED",
                    "COMPLETED",
                    "RESCHEDULED",
                    "NO_SHOW",
                    "CANCELED",
                ],
            ),
        ]),
        "notes" => engagement(vec![textarea("hs_note_body", "Note body")]),
        "tasks" => engagement(vec![
            text("hs_task_subject", "Task title"),
            textarea("hs_task_body", "Task notes"),
            select(
                "hs_task_status",
                "Task status",
                &[
                    "NOT_STARTED",
                    "IN_PROGRESS",
                    "WAITING",
                    "COMPLETED",
                    "DEFERRED",
                ],
            ),
            select(
                "hs_task_priority",
                "Priority",
                &["NONE", "LOW", "MEDIUM", "HIGH"],
            ),
            select("hs_task_type", "Task type", &["EMAIL", "CALL", "TODO"]),
        ]),
        "communications" => engagement(vec![
            select(
                "hs_communication_channel_type",
                "Channel type",
                &["WHATS_APP", "LINKEDIN_MESSAGE", "SMS"],
            ),
            select("hs_communication_logged_from", "Logged from", &["CRM"]),
            textarea("hs_communication_body", "Body"),
        ]),
        "postal_mail" => engagement(vec![textarea("hs_postal_mail_body", "Body")]),
        "appointments" => vec![
            text("hs_appointment_name", "Appointment name"),
            datetime("hs_appointment_start", "Start"),
            datetime("hs_appointment_end", "End"),
            number("hubspot_owner_id", "Owner"),
        ],
        "courses" => vec![
            text("hs_course_name", "Course name"),
            textarea("hs_course_description", "Description"),
        ],
        "listings" => vec![
            text("hs_name", "Listing name"),
            number("hs_price", "Price"),
            text("hs_address_1", "Address"),
            text("hs_city", "City"),
            text("hs_state", "State"),
            text("hs_zip", "Zip"),
            number("hs_bedrooms", "Bedrooms"),
            number("hs_bathrooms", "Bathrooms"),
            select(
                "hs_listing_type",
                "Listing type",
                &[
                    "house",
                    "townhouse",
                    "multi_family",
                    "condos_coops",
                    "lots_land",
                    "apartments",
                    "manufactured",
                ],
            ),
        ],
        "marketing_events" => vec![
            text("hs_event_name", "Event name"),
            textarea("hs_event_description", "Event description"),
            datetime("hs_start_datetime", "Start date"),
            datetime("hs_end_datetime", "End date"),
            text("hs_event_organizer", "Organizer"),
            text("hs_event_type", "Event type"),
        ],
        "orders" => vec![
            text("hs_order_name", "Order name"),
            text("hs_currency_code", "Currency"),
            text("hs_source_store", "Source store"),
            text("hs_fulfillment_status", "Fulfillment status"),
            number("hs_total_price", "Total price"),
        ],
        "services" => vec![
            text("hs_name", "Service name"),
            textarea("hs_description", "Description"),
            number("hubspot_owner_id", "Owner"),
        ],
        "subscriptions" => vec![
            text("hs_name", "Subscription name"),
            select(
                "hs_status",
                "Status",
                &[
                    "active",
                    "past_due",
                    "canceled",
                    "expired",
                    "scheduled",
                    "paused",
                ],
            ),
            date("hs_recurring_billing_start_date", "Billing start date"),
        ],
        "users" => vec![
            text("hs_email", "Email"),
            text("hs_given_name", "First name"),
            text("hs_family_name", "Last name"),
            number("hs_internal_user_id", "User ID"),
        ],
        _ => Vec::new(),
    }
}

/// The server-set properties every record carries. Contacts name their modified date `lastmodifieddate`
/// and have no `hs_createdate`; everything else uses `hs_lastmodifieddate` and has both create dates.
pub fn server_set(contacts: bool) -> Vec<PropertyDef> {
    let mut id = number("hs_object_id", "Record ID").read_only();
    id.server = ServerSet::ObjectId;
    let mut created = datetime("createdate", "Create Date").read_only();
    created.server = ServerSet::CreateDate;
    let modified_name = if contacts {
        "lastmodifieddate"
    } else {
        "hs_lastmodifieddate"
    };
    let mut modified = datetime(modified_name, "Last Modified Date").read_only();
    modified.server = ServerSet::ModifiedDate;
    let mut props = vec![id, created, modified];
    if !contacts {
        let mut hs_created = datetime("hs_createdate", "Object create date/time").read_only();
        hs_created.server = ServerSet::CreateDate;
        props.push(hs_created);
    }
    props
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_standard_type_has_properties() {
        for name in [
            "contacts",
            "companies",
            "deals",
            "tickets",
            "notes",
            "users",
        ] {
            assert!(!standard(name).is_empty(), "{name}");
        }
    }

    #[test]
    fn labels_are_derived_from_values() {
        assert_eq!(label_of("IN_PROGRESS"), "In progress");
    }

    #[test]
    fn property_json_has_hubspots_keys() {
        let json = standard("contacts")[0].to_json(true);
        assert_eq!(json["name"], "email");
        assert_eq!(json["hasUniqueValue"], true);
        assert_eq!(json["modificationMetadata"]["readOnlyValue"], false);
    }
}
