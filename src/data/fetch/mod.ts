/**
 * Online fetchers: Yahoo Finance daily prices and market series (via `yahoo-finance2`) and Alpha
 * Vantage fundamentals, insider transactions, news sentiment, news articles and Treasury yields,
 * with rate limits, bounded retries, an on-disk cache of raw responses and resumable downloads.
 *
 * `deno task data fetch --tickers AAPL,MSFT --since 2004-01-01 --out data/my-set [--alpha-vantage] [--news]`
 *
 * @module
 */
export {
  DEFAULT_MARKET,
  DEFAULT_MATURITIES,
  fetchDataset,
  type FetchOptions,
  type FetchReport,
} from "./fetch.ts";
export { type CacheIndexEntry, type CacheKey, FetchCache } from "./cache.ts";
export {
  defaultRetry,
  FetchError,
  HttpClient,
  type HttpClientOptions,
  type HttpRequest,
  realSleep,
  type RetryPolicy,
  type Sleep,
  TokenBucket,
} from "./http.ts";
export {
  type DailyBar,
  fetchYahooDaily,
  YAHOO_BASE_URL,
  type YahooContext,
  type YahooResult,
} from "./yahoo.ts";
export {
  ALPHAVANTAGE_BASE_URL,
  ALPHAVANTAGE_NEWS_TIME_ZONE,
  type AlphaVantageContext,
  alphaVantageGet,
  alphaVantageRateLimit,
  type AlphaVantageResult,
  dailyNewsSentiment,
  type EarningsRow,
  fetchNewsPages,
  type FundamentalsRow,
  type IncomeRow,
  type InsiderRow,
  joinFundamentals,
  type MarketRow,
  NEWS_PAGE_LIMIT,
  type NewsArticle,
  type NewsPages,
  type NewsPagesOptions,
  parseEarnings,
  parseIncomeStatement,
  parseInsiderTransactions,
  parseNewsFeed,
  parseNewsSentiment,
  parseTreasuryYield,
  type SentimentRow,
  type TickerSentiment,
  TREASURY_MATURITIES,
} from "./alphavantage.ts";
