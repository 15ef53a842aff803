// Package sepa writes the ISO 20022 pain.001.001.09 customer credit transfer
// initiation (CustomerCreditTransferInitiationV09) that pays publishers with
// non-US bank accounts (SPEC §6.2), and reads it back.
//
// It owns the file format only: which publishers are paid, how much and in
// which currency is decided by the close; IBAN check digits and BIC
// directories belong to payout/bankid. This package checks only the shapes
// the schema needs (IBAN [A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}, BIC 8 or 11
// characters, ISO 3166 country) and assumes the accounts were verified
// before the cycle paid them (SPEC §6.1). It does no I/O beyond the given
// io.Writer / io.Reader and never reads the clock.
//
// # Structure
//
//	Document (xmlns urn:iso:std:iso:20022:tech:xsd:pain.001.001.09)
//	└── CstmrCdtTrfInitn
//	    ├── GrpHdr: MsgId, CreDtTm, NbOfTxs, CtrlSum, InitgPty/Nm
//	    └── PmtInf (1..n): PmtInfId, PmtMtd=TRF, NbOfTxs, CtrlSum,
//	        [PmtTpInf/SvcLvl/Cd=SEPA], ReqdExctnDt/Dt, Dbtr, DbtrAcct/Id/IBAN,
//	        DbtrAgt/FinInstnId/BICFI, ChrgBr
//	        └── CdtTrfTxInf (1..n): PmtId/[InstrId]/EndToEndId,
//	            Amt/InstdAmt@Ccy, [CdtrAgt/FinInstnId/BICFI], Cdtr/Nm[/PstlAdr/Ctry],
//	            CdtrAcct/Id/IBAN, [RmtInf/Ustrd]
//
// Blocks: one SEPA block (EUR paid from and to IBANs of SEPA scheme
// countries; SvcLvl SEPA, ChrgBr SLEV, creditor BIC optional) and one
// cross-border block per other currency, or for EUR to a non-SEPA country
// (ChrgBr SHAR, creditor BIC, creditor country and debtor BIC required). The
// SEPA block comes first, then cross-border blocks by currency code;
// transactions in a block are sorted by EndToEndID. PmtInfId is MsgId plus
// "-SEPA" or "-X<currency>" (MsgId cut to 30 characters if needed).
//
// Totals: NbOfTxs and CtrlSum per block and in the group header; the header's
// CtrlSum is the plain sum of every amount, whatever the currency, as ISO
// 20022 defines it. Write computes them from the input, encodes, reads its
// own bytes back with Read and compares block by block before writing
// anything to w.
//
// # Characters
//
// Only the EPC SEPA basic Latin character set is written:
// a-z A-Z 0-9 / - ? : ( ) . , ' + space. Names and remittance text are
// transliterated by [Transliterate] (diacritics removed: é→e, ø→o; ligatures
// spelled out: ß→ss, Æ→AE, Œ→OE; &→+; curly quotes→'; anything else
// dropped; whitespace collapsed), then cut: names to [MaxNameLength] (70,
// the EPC limit), remittance to [MaxRemittanceLength] (140). A name that
// becomes empty (for example one written only in Japanese script) is an
// error: the account holder name must be given in Latin script.
// Identifiers (MsgId, EndToEndId, InstrId) are never altered: they must be
// 1–35 characters of the set, must not start or end with '/' or contain
// "//", and must not start or end with a space; otherwise Write refuses them.
//
// # Amounts
//
// Each amount must be > 0 and have no more decimals than its currency's ISO
// 4217 minor unit (money.MinorUnit); it is written with exactly that many
// (EUR "12.30", JPY "1235", BHD "1.250"). Nothing is rounded here: an amount
// with too many decimals is refused, since rounding would invent or lose
// money. SEPA amounts are at most [MaxSEPAAmount] (999,999,999.99); any
// amount has at most 18 digits (ISO 20022 totalDigits).
//
// # Validation against the published formats
//
// SEPA-only messages are validated in tests with xmllint against the EPC
// implementation-guideline XSD (EPC132-08 2023 version 1.0, pain.001.001.09),
// vendored unmodified in testdata/ (testdata/README.md says where it comes
// from). That XSD admits only SLEV, so messages with cross-border blocks are
// checked structurally (read back, counts and sums recomputed).
//
// # Limits and gaps
//
//   - [MaxTransactions] per message (payrun's own limit; split larger runs).
//   - Postal addresses carry the country only (PstlAdr/Ctry). SEPA accepts
//     that; banks applying the CBPR+ structured-address rules for
//     cross-border payments (from November 2026) may require a town name
//     too, which Payment does not carry yet.
//   - Creditor accounts must be IBANs: non-IBAN accounts (Othr/Id) are not
//     supported; US accounts are paid by NACHA.
//
// # Failure modes
//
// Write returns errors wrapping ErrEmptyMessage, ErrTooManyPayments,
// ErrInvalidAmount, ErrInvalidField, ErrDuplicateID or ErrInvalidIdentifier,
// each naming the payment by index and EndToEndID (never its IBAN); up to 50
// bad payments are reported at once (errors.Join). On error nothing is
// written. Read returns XML errors, a namespace mismatch for other pain.001
// versions, and ErrTotalsMismatch when a declared NbOfTxs or CtrlSum
// disagrees with the transactions.
package sepa
