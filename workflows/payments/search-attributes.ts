/** The invoice's search attributes (registered by the dev server spec): findable in the UI and CLI, read by the chain watcher. */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const InvoiceStatusKey = defineSearchAttributeKey('InvoiceStatus', SearchAttributeType.KEYWORD);
export const CustomerIdKey = defineSearchAttributeKey('CustomerId', SearchAttributeType.KEYWORD);
export const CurrencyKey = defineSearchAttributeKey('Currency', SearchAttributeType.KEYWORD);
