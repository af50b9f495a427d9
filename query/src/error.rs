//! Errors as PostgreSQL reports them: severity, SQLSTATE, message, and optionally DETAIL, HINT,
//! the 1-based character position in the query text and the object an integrity error is about
//! (schema, table, column, constraint)
//! (<https://www.postgresql.org/docs/15/protocol-error-fields.html>).

/// A PostgreSQL error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct SqlError {
    /// SQLSTATE (<https://www.postgresql.org/docs/15/errcodes-appendix.html>).
    pub code: &'static str,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
    /// 1-based position, in characters, in the query string.
    pub position: Option<u32>,
    /// The fields most errors lack (boxed, so that `Result`s stay small).
    pub fields: Option<Box<ErrorFields>>,
}

/// CONTEXT, and the fields `s`, `t`, `c`, `n` of an ErrorResponse: drivers read the latter
/// (pgjdbc's `ServerErrorMessage.getTable()`, node-postgres' `err.table`/`err.constraint`),
/// and PostgreSQL sets them on 23502, 23503, 23505 and 23514 (`errtablecol`,
/// `errtableconstraint`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ErrorFields {
    /// CONTEXT: where it happened (`COPY t, line 3, column x: "abc"`).
    pub context: Option<String>,
    /// A notice's severity when its SQLSTATE does not tell it (PL/pgSQL's RAISE INFO /
    /// WARNING): `INFO`, `NOTICE` or `WARNING`.
    pub severity: Option<&'static str>,
    pub schema: Option<String>,
    pub table: Option<String>,
    pub column: Option<String>,
    pub constraint: Option<String>,
}

pub type Result<T> = std::result::Result<T, SqlError>;

impl SqlError {
    pub fn new(code: &'static str, message: impl Into<String>) -> SqlError {
        SqlError { code, message: message.into(), detail: None, hint: None, position: None, fields: None }
    }

    pub fn detail(mut self, d: impl Into<String>) -> SqlError {
        self.detail = Some(d.into());
        self
    }

    pub fn hint(mut self, h: impl Into<String>) -> SqlError {
        self.hint = Some(h.into());
        self
    }

    pub fn context(mut self, c: impl Into<String>) -> SqlError {
        self.fields.get_or_insert_with(Box::default).context = Some(c.into());
        self
    }

    /// A notice sent with this severity ([`ErrorFields::severity`]).
    pub fn severity(mut self, s: &'static str) -> SqlError {
        self.fields.get_or_insert_with(Box::default).severity = Some(s);
        self
    }

    /// The severity set by [`SqlError::severity`], if any.
    pub fn severity_given(&self) -> Option<&'static str> {
        self.fields.as_ref().and_then(|f| f.severity)
    }

    /// The CONTEXT field, if set.
    pub fn context_text(&self) -> Option<&str> {
        self.fields.as_ref().and_then(|f| f.context.as_deref())
    }

    /// The table the error is about: `name` as the catalog holds it (`s.t`, or `t` in public).
    pub fn on_table(mut self, name: &str) -> SqlError {
        let (schema, table) = crate::schema::split(name);
        let o = self.fields.get_or_insert_with(Box::default);
        o.schema = Some(schema.to_string());
        o.table = Some(table.to_string());
        self
    }

    pub fn on_column(mut self, column: &str) -> SqlError {
        self.fields.get_or_insert_with(Box::default).column = Some(column.to_string());
        self
    }

    pub fn on_constraint(mut self, constraint: &str) -> SqlError {
        self.fields.get_or_insert_with(Box::default).constraint = Some(constraint.to_string());
        self
    }

    pub fn at(mut self, position: Option<usize>) -> SqlError {
        if self.position.is_none() {
            self.position = position.and_then(|p| u32::try_from(p).ok());
        }
        self
    }

    pub fn syntax(near: &str) -> SqlError {
        SqlError::new(code::SYNTAX_ERROR, format!("syntax error at or near \"{near}\""))
    }

    pub fn unsupported(what: impl Into<String>) -> SqlError {
        SqlError::new(code::FEATURE_NOT_SUPPORTED, what)
    }

    pub fn invalid_text(ty: &str, input: &str) -> SqlError {
        SqlError::new(code::INVALID_TEXT_REPRESENTATION, format!("invalid input syntax for type {ty}: \"{input}\""))
    }

    pub fn out_of_range(ty: &str) -> SqlError {
        SqlError::new(code::NUMERIC_VALUE_OUT_OF_RANGE, format!("{ty} out of range"))
    }

    pub fn division_by_zero() -> SqlError {
        SqlError::new(code::DIVISION_BY_ZERO, "division by zero")
    }

    pub fn internal(what: impl Into<String>) -> SqlError {
        SqlError::new(code::INTERNAL_ERROR, what)
    }
}

/// The SQLSTATE codes used here.
pub mod code {
    pub const SUCCESSFUL_COMPLETION: &str = "00000";
    pub const WARNING: &str = "01000";
    pub const CONNECTION_EXCEPTION: &str = "08000";
    pub const PROTOCOL_VIOLATION: &str = "08P01";
    pub const FEATURE_NOT_SUPPORTED: &str = "0A000";
    pub const STRING_DATA_RIGHT_TRUNCATION: &str = "22001";
    pub const NUMERIC_VALUE_OUT_OF_RANGE: &str = "22003";
    pub const DIVISION_BY_ZERO: &str = "22012";
    pub const INVALID_PARAMETER_VALUE: &str = "22023";
    pub const INVALID_ESCAPE_SEQUENCE: &str = "22025";
    pub const INVALID_ROW_COUNT_IN_LIMIT_CLAUSE: &str = "2201W";
    pub const INVALID_ROW_COUNT_IN_RESULT_OFFSET_CLAUSE: &str = "2201X";
    pub const CHARACTER_NOT_IN_REPERTOIRE: &str = "22021";
    pub const INVALID_TEXT_REPRESENTATION: &str = "22P02";
    pub const INVALID_BINARY_REPRESENTATION: &str = "22P03";
    pub const NOT_NULL_VIOLATION: &str = "23502";
    pub const UNIQUE_VIOLATION: &str = "23505";
    pub const CHECK_VIOLATION: &str = "23514";
    pub const WITH_CHECK_OPTION_VIOLATION: &str = "44000";
    pub const DEPENDENT_OBJECTS_STILL_EXIST: &str = "2BP01";
    pub const WRONG_OBJECT_TYPE: &str = "42809";
    pub const DUPLICATE_OBJECT: &str = "42710";
    pub const UNDEFINED_PARAMETER: &str = "42P02";
    pub const INVALID_CURSOR_NAME: &str = "34000";
    pub const INVALID_CURSOR_STATE: &str = "24000";
    pub const ACTIVE_SQL_TRANSACTION: &str = "25001";
    pub const NO_ACTIVE_SQL_TRANSACTION: &str = "25P01";
    pub const IN_FAILED_SQL_TRANSACTION: &str = "25P02";
    pub const INVALID_AUTHORIZATION_SPECIFICATION: &str = "28000";
    pub const INVALID_PASSWORD: &str = "28P01";
    pub const INVALID_CATALOG_NAME: &str = "3D000";
    pub const SYNTAX_ERROR: &str = "42601";
    pub const GROUPING_ERROR: &str = "42803";
    pub const DATATYPE_MISMATCH: &str = "42804";
    pub const UNDEFINED_FUNCTION: &str = "42883";
    pub const UNDEFINED_TABLE: &str = "42P01";
    pub const UNDEFINED_COLUMN: &str = "42703";
    pub const UNDEFINED_OBJECT: &str = "42704";
    pub const INVALID_NAME: &str = "42602";
    pub const DUPLICATE_TABLE: &str = "42P07";
    pub const DUPLICATE_COLUMN: &str = "42701";
    pub const BAD_COPY_FILE_FORMAT: &str = "22P04";
    pub const INSUFFICIENT_PRIVILEGE: &str = "42501";
    pub const QUERY_CANCELED: &str = "57014";
    pub const INVALID_TABLE_DEFINITION: &str = "42P16";
    pub const AMBIGUOUS_PARAMETER: &str = "42P08";
    pub const INDETERMINATE_DATATYPE: &str = "42P18";
    pub const INVALID_COLUMN_REFERENCE: &str = "42P10";
    pub const IO_ERROR: &str = "58030";
    pub const INVALID_PREPARED_STATEMENT_DEFINITION: &str = "42P14";
    pub const DUPLICATE_PREPARED_STATEMENT: &str = "42P05";
    pub const DUPLICATE_CURSOR: &str = "42P03";
    pub const UNDEFINED_PREPARED_STATEMENT: &str = "26000";
    pub const PROGRAM_LIMIT_EXCEEDED: &str = "54000";
    pub const INTERNAL_ERROR: &str = "XX000";
}
