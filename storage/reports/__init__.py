"""Reports: what people read or download — summaries in chat, exports, workshop
syntheses, charts — rendered from storage records, above the transaction path."""
