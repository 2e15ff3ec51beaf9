import { EventStore1764300000000 } from './1764300000000-event-store';
import { PolicyReadModels1764400000000 } from './1764400000000-policy-read-models';
import { Feeds1764500000000 } from './1764500000000-feeds';
import { Alerts1764600000000 } from './1764600000000-alerts';
import { LeanAppendAndImport1764700000000 } from './1764700000000-lean-append-and-import';
import { RateLimits1764800000000 } from './1764800000000-rate-limits';
import { MonitoringGrants1764900000000 } from './1764900000000-monitoring-grants';
import { DigestFunctionsInPlpgsql1765000000000 } from './1765000000000-digest-functions-in-plpgsql';
import { GinWithoutPendingLists1765100000000 } from './1765100000000-gin-without-pending-lists';
import { PolicyFactsClosedIndex1765200000000 } from './1765200000000-policy-facts-closed-index';
import { AnswersStoredAsJson1765300000000 } from './1765300000000-answers-stored-as-json';
import { PolicyFactsChipIndex1765400000000 } from './1765400000000-policy-facts-chip-index';
import { StatusDerivedAtReadTime1765500000000 } from './1765500000000-status-derived-at-read-time';
import { FactDataReadFromTheLog1765600000000 } from './1765600000000-fact-data-read-from-the-log';

/** Every migration, in order. Listed explicitly so the same list works from sources (tests) and from dist. */
export const migrations = [EventStore1764300000000, PolicyReadModels1764400000000, Feeds1764500000000, Alerts1764600000000, LeanAppendAndImport1764700000000, RateLimits1764800000000, MonitoringGrants1764900000000, DigestFunctionsInPlpgsql1765000000000, GinWithoutPendingLists1765100000000, PolicyFactsClosedIndex1765200000000, AnswersStoredAsJson1765300000000, PolicyFactsChipIndex1765400000000, StatusDerivedAtReadTime1765500000000, FactDataReadFromTheLog1765600000000];
