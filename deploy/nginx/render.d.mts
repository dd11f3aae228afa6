export declare const NGINX_TEMPLATE: string;
export declare const API_SERVER_PARAMETERS: string;
export type NginxValues = Record<string, string>;
export declare function templatePlaceholders(template?: string): string[];
export declare function renderTemplate(values: NginxValues, template?: string): string;
export declare function localValues(options: {
  listen: string;
  apiPorts: number[];
  runtimeDir: string;
  upstreamHeader?: boolean;
}): NginxValues;
