export declare const NGINX_TEMPLATE: string;
export declare const API_MAX_CONNS: number;
export declare const API_SERVER_PARAMETERS: string;
export declare function serverParameters(maxConns: number): string;
export type NginxValues = Record<string, string>;
export declare function templatePlaceholders(template?: string): string[];
export declare function renderTemplate(values: NginxValues, template?: string): string;
export declare function localValues(options: {
  listen: string;
  apiPorts: number[];
  runtimeDir: string;
  upstreamHeader?: boolean;
  maxConns?: number;
}): NginxValues;
